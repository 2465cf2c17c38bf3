"""End-to-end: the real parlab kernel through jupyter_client."""
import time

import zmq
from conftest import run


def test_variables_survive_errors_of_every_kind(kernel):
    assert run(kernel, "let kept = vec![1u64, 2, 3];").status == "ok"

    panic = run(kernel, "let v: Vec<u8> = vec![];\nv[10]")
    assert panic.status == "error"
    assert panic.error["ename"] == "panic"
    assert "index out of bounds" in panic.error["evalue"]
    tb = "\n".join(panic.error["traceback"])
    assert "line 2" in tb and "run_user_code" not in tb and "evcxr" not in tb
    assert panic.stderr == "", "no raw backtrace on stderr"

    compile_error = run(kernel, 'let y: i32 = "text";')
    assert compile_error.status == "error"
    assert compile_error.error["ename"] == "CompileError"
    assert "mismatched types" in compile_error.error["evalue"]

    assert run(kernel, "kept.iter().sum::<u64>()").result == "6"


def test_process_abort_is_reported_and_kernel_keeps_serving(kernel):
    run(kernel, "let before_abort = 5;")
    died = run(kernel, "std::process::abort();")
    assert died.status == "error"
    assert died.error["ename"] == "ProcessDied"
    assert "before_abort" in died.error["evalue"]
    assert run(kernel, "40 + 2").result == "42"


def test_interrupt_of_an_endless_loop(kernel):
    run(kernel, "let survivor = 1;")
    msg_id = kernel.execute("loop { std::hint::spin_loop(); }")
    time.sleep(1.0)
    kernel.km.interrupt_kernel()  # interrupt_request on control (interrupt_mode: message)
    # The loop never ends by itself: a reply within the timeout is the interrupt's.
    reply = kernel.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.get_shell_msg(timeout=30)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert run(kernel, "1 + 1").result == "2"


def test_display_data_in_order_and_updates(kernel):
    cell = run(
        kernel,
        'parlab::display(parlab::MimeBundle::text("one").with_html("<i>one</i>"));\n'
        'println!("between");\n'
        'let h = parlab::DisplayHandle::show(parlab::MimeBundle::text("0 %"));\n'
        'h.update(parlab::MimeBundle::text("100 %"));\n'
        '"done"',
    )
    kinds = [m["msg_type"] for m in cell.msgs if m["msg_type"] != "execute_input"]
    assert kinds == ["display_data", "stream", "display_data", "update_display_data", "execute_result"], kinds
    assert cell.of("display_data")[0]["data"]["text/html"] == "<i>one</i>"
    assert cell.of("update_display_data")[0]["data"]["text/plain"] == "100 %"
    assert cell.result == '"done"'


def test_stop_on_error_aborts_queued_cells(kernel):
    ids = [kernel.execute('panic!("first");'), kernel.execute("1"), kernel.execute("2")]
    replies = {}
    while len(replies) < 3:
        r = kernel.get_shell_msg(timeout=120)
        if r["parent_header"].get("msg_id") in ids:
            replies[r["parent_header"]["msg_id"]] = r["content"]["status"]
    assert [replies[i] for i in ids] == ["error", "aborted", "aborted"]
    assert run(kernel, "3").result == "3"


def test_input_request(kernel):
    msg_id = kernel.execute(
        'parlab::input("name? ").to_uppercase()',
        allow_stdin=True,
    )
    req = kernel.get_stdin_msg(timeout=120)
    assert req["msg_type"] == "input_request"
    kernel.input("hello")
    reply = kernel.get_shell_msg(timeout=120)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.get_shell_msg(timeout=120)
    assert reply["content"]["status"] == "ok"
    assert req["content"]["prompt"] == "name? "


def test_bad_signature_is_dropped_and_kernel_still_answers(kernel):
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.connect(f"{kernel.transport}://{kernel.ip}:{kernel.shell_port}")
    sock.send_multipart([b"<IDS|MSG>", b"0" * 64, b'{"msg_type": "kernel_info_request", "msg_id": "x"}', b"{}", b"{}", b"{}"])
    sock.send_multipart([b"garbage"])
    sock.close()
    time.sleep(0.2)
    kernel.kernel_info()
    reply = kernel.get_shell_msg(timeout=30)
    assert reply["msg_type"] == "kernel_info_reply"
    assert run(kernel, "7").result == "7"


def test_completion_names_and_code_point_offsets(kernel):
    run(kernel, "let café_count = 3;")
    code = "let é = 1; std::collections::HashM"
    kernel.complete(code, len(code))
    reply = kernel.get_shell_msg(timeout=120)["content"]
    assert "HashMap" in reply["matches"], reply["matches"]
    assert all("$" not in m and "(" not in m for m in reply["matches"])
    assert reply["cursor_end"] == len(code)
    assert code[reply["cursor_start"]:reply["cursor_end"]] == "HashM"


def test_quit_does_not_end_the_kernel(kernel):
    cell = run(kernel, ":quit")
    assert cell.status == "error"
    assert run(kernel, "8").result == "8"
