# Starts the fork server: `python3 [flags] -c <this> <forkserver.py>`. Compiling a program of
# that size leaves the compiler's scratch memory in the interpreter's heap and arenas (about
# 0.6 MiB, pages the server would keep and every open session would pay for), so a throwaway
# fork compiles it and hands back the code object; only that is loaded here.
import os, sys, marshal

_warmrun_source = sys.argv[1]
_warmrun_read, _warmrun_write = os.pipe()
_warmrun_compiler = os.fork()
if _warmrun_compiler == 0:
    try:
        os.close(_warmrun_read)
        _warmrun_left = memoryview(
            marshal.dumps(compile(_warmrun_source, "<string>", "exec"))
        )
        while _warmrun_left:
            _warmrun_left = _warmrun_left[os.write(_warmrun_write, _warmrun_left) :]
    finally:
        os._exit(0)
os.close(_warmrun_write)
_warmrun_code = b""
while _warmrun_chunk := os.read(_warmrun_read, 65536):
    _warmrun_code += _warmrun_chunk
os.close(_warmrun_read)
os.waitpid(_warmrun_compiler, 0)
try:
    _warmrun_code = marshal.loads(_warmrun_code)
except Exception:
    # The compiler failed (it cannot, short of memory): the plain way, compiled here.
    _warmrun_code = _warmrun_source
del _warmrun_source, _warmrun_read, _warmrun_write, _warmrun_compiler, _warmrun_chunk
exec(_warmrun_code)
