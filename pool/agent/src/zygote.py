# The warm Python interpreter the agent keeps ready (run as `python3 [flags] -c <this>` by the
# sandbox uid, after the sandbox was wiped). It waits on fd 3 for the program's path and
# arguments (NUL-separated, then EOF), then runs it as `python3 [flags] PATH ARGS` would.
import os, sys

def _warmrun_wait():
    with os.fdopen(3, "rb", 0) as ctl:
        data = b""
        while True:
            chunk = ctl.read(65536)
            if not chunk:
                break
            data += chunk
    if not data:
        os._exit(0)
    parts = data.decode("utf-8", "surrogateescape").split("\0")
    return parts[0], parts[1:]

_warmrun_given, _warmrun_args = _warmrun_wait()
del _warmrun_wait
_warmrun_path = os.path.abspath(_warmrun_given)
sys.argv = [_warmrun_given] + _warmrun_args
sys.path[0] = os.path.dirname(_warmrun_path)
try:
    # What `python3 PATH` does: compile the file and run it as a fresh __main__ module.
    with open(_warmrun_path, "rb") as _f:
        _code = compile(_f.read(), _warmrun_path, "exec", dont_inherit=True)
    _main = type(sys)("__main__")
    _main.__file__ = _warmrun_path
    _main.__cached__ = None
    _main.__builtins__ = __builtins__
    sys.modules["__main__"] = _main
    exec(_code, _main.__dict__)
except SystemExit:
    raise
except BaseException as _warmrun_error:
    # Print the traceback as plain `python3 main.py` would: without this file's frames.
    import traceback
    _tb = _warmrun_error.__traceback__
    while _tb is not None and _tb.tb_frame.f_code.co_filename != _warmrun_path:
        _tb = _tb.tb_next
    traceback.print_exception(type(_warmrun_error), _warmrun_error, _tb)
    sys.stderr.flush()
    sys.exit(130 if isinstance(_warmrun_error, KeyboardInterrupt) else 1)
