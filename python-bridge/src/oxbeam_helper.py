# The `oxbeam` module seen by Python code run with Oxbeam.Python. Installed once, when
# the interpreter is initialized; `_native` is provided by the NIF library.
import ast
import sys
import threading
import traceback

class _Output:
    """sys.stdout / sys.stderr: text goes to the calling process's group leader (or
    the devices given to eval), also from threads the eval started."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, index):
        self._index = index

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not " + type(text).__name__)
        if text:
            _native.write(self._index, text)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def writable(self):
        return True

    def readable(self):
        return False

    def fileno(self):
        raise OSError("Oxbeam.Python output has no file descriptor")


class _Input:
    """sys.stdin: there is no input in the BEAM."""

    encoding = "utf-8"

    def _fail(self, *args, **kwargs):
        raise OSError("reading from stdin is not supported in Oxbeam.Python")

    read = readline = readlines = _fail

    def isatty(self):
        return False

    def readable(self):
        return False


_bootstrap_inner = threading.Thread._bootstrap_inner
_start = threading.Thread.start


def _start_with_device(self, *args, **kwargs):
    self._oxbeam_device = _native.current_device()
    return _start(self, *args, **kwargs)


def _bootstrap_with_device(self):
    _native.set_device(getattr(self, "_oxbeam_device", None))
    return _bootstrap_inner(self)


threading.Thread.start = _start_with_device
threading.Thread._bootstrap_inner = _bootstrap_with_device
sys.stdout = _Output(0)
sys.stderr = _Output(1)
sys.stdin = _Input()


def _compile(code):
    """The code objects of `code`: (statements or None, final expression or None).
    The NIF library caches them per snippet."""
    tree = ast.parse(code, "<string>", "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = compile(ast.Expression(tree.body.pop().value), "<string>", "eval")
    statements = compile(tree, "<string>", "exec") if tree.body else None
    return statements, last


def _format_exception(exc, tb):
    # Leave out the frames of this module: the traceback starts in the user's code.
    if tb is None:
        tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals is globals():
        tb = tb.tb_next
    return traceback.format_exception(type(exc), exc, tb)


def send_tagged_object(pid, tag, obj):
    """Sends {tag, %Oxbeam.Python.Object{}} to an Elixir process."""
    _native.send_tagged_object(pid, tag, obj)
