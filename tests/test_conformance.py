"""The public Jupyter kernel conformance suite, every test switched on."""
import unittest

import jupyter_kernel_test

from conftest import FIRST_CELL_TIMEOUT, run
from jupyter_client.manager import start_new_kernel


class ParlabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "parlab"
    language_name = "rust"
    file_extension = ".rs"

    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name=cls.kernel_name, startup_timeout=120)
        # The first cell waits for the evaluation context, and the first that
        # names the runtime for it to be added; not protocol matters (the
        # suite allows a reply 15 s).
        run(cls.kc, "1", timeout=FIRST_CELL_TIMEOUT)
        run(cls.kc, "use parlab::prelude::*;", timeout=FIRST_CELL_TIMEOUT)

    code_hello_world = 'println!("hello, world");'
    code_stderr = 'eprintln!("oops");'
    completion_samples = [{"text": "std::collections::Hash"}, {"text": "let value = 1; val"}]
    complete_code_samples = ["1 + 1", "let x = 3;", "fn f() -> u32 { 1 }"]
    incomplete_code_samples = ["fn f() {", "let v = vec![1,", "let s = \"abc"]
    invalid_code_samples = ["fn f() { ) }", "let v = [1, 2));"]
    code_generate_error = 'panic!("boom");'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"hi".to_string()', "result": '"hi"'},
        {"code": "vec![1, 2]", "result": "[1, 2]"},
    ]
    code_display_data = [
        # evcxr's display convention, as plotters' evcxr_figure prints it.
        {"code": 'println!("EVCXR_BEGIN_CONTENT text/html\\n<b>hi</b>\\nEVCXR_END_CONTENT");', "mime": "text/html"},
        {"code": 'parlab::display(parlab::MimeBundle::text("hi").with_html("<b>hi</b>"));', "mime": "text/html"},
        {"code": 'parlab::display(parlab::MimeBundle::text("svg").with_svg("<svg xmlns=\\"http://www.w3.org/2000/svg\\"/>"));', "mime": "image/svg+xml"},
    ]
    code_history_pattern = "6 *"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "std::vec::Vec"
    code_page_something = "%timeit?"
    code_clear_output = "parlab::clear_output(false);"


if __name__ == "__main__":
    unittest.main()
