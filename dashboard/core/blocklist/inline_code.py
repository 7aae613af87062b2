"""Rule `inline-code`: program text on the command line that is not provably harmless.

`python3 -c`, `perl -e`, `ruby -e`, `node -e`, `php -r`, `lua -e`, awk programs and sed scripts can
do anything a shell can, in a language the shell rules do not read. Python is parsed (`ast`) and
allowed only when it imports modules from a read-only set, calls nothing that runs, writes, forks or
reaches other modules (`exec`, `open(…, 'w')`, `os.system`, `getattr`, dunders…). The other
languages have no parser here, so their code is allowed only when it uses none of the ways each has
to reach the system (`system`, backticks, `open`, `require`, `unlink`, `fork`…): text processing and
printing pass (`perl -ne 'print if /x/'`, `awk '{print $1}'`, `node -e 'console.log(1)'`).
"""

from __future__ import annotations

import ast
import re

from dashboard.core.blocklist.model import Block, Blocked, Cmd
from dashboard.core.blocklist.paths import is_ssh_path

# modules whose whole surface only computes, reads or prints (os and sys: see _ATTRS)
_SAFE_MODULES = {
    "json", "math", "cmath", "platform", "datetime", "time", "re", "random", "string", "textwrap", "hashlib",
    "base64", "binascii", "uuid", "struct", "decimal", "fractions", "statistics", "itertools", "functools",
    "collections", "operator", "pprint", "csv", "sysconfig", "locale", "calendar", "unicodedata", "html",
    "keyword", "secrets", "enum", "dataclasses", "typing", "copy", "bisect", "heapq", "numbers", "zlib", "gzip",
    "difflib", "shlex", "fnmatch", "getpass", "ssl", "colorsys", "ipaddress", "urllib.parse", "importlib.metadata",
    "email.utils", "zoneinfo", "this", "__future__", "tomllib", "pathlib", "glob", "stat",
}  # fmt: skip
_WRITES = {
    "write_text", "write_bytes", "unlink", "rmdir", "rename", "replace", "touch", "mkdir", "makedirs", "chmod",
    "lchmod", "chown", "symlink_to", "hardlink_to", "link_to", "rmtree", "remove", "removedirs", "system", "popen",
    "kill", "fork", "truncate", "mkfifo", "utime", "copy", "copyfile", "copytree", "move", "dump", "save",
}  # fmt: skip
"""Methods that write, delete, run or kill, refused on any object (`Path('x').write_text(…)`)."""
_THIRD_PARTY_READS = {
    "yaml": {"safe_load", "safe_load_all", "safe_dump"}, "torch": {"cuda", "backends", "version"},
    "torch.cuda": {"is_available", "device_count", "get_device_name", "current_device"},
    "torch.backends": {"mps", "cudnn"}, "torch.backends.mps": {"is_available"}, "numpy": {"show_config"},
}  # fmt: skip
"""Read-only calls on popular packages (their version is always allowed: `__version__`)."""
_ATTRS = {
    "sys": {"version", "version_info", "executable", "platform", "path", "argv", "stdin", "stdout", "stderr",
            "exit", "maxsize", "byteorder", "getdefaultencoding", "getfilesystemencoding", "prefix", "base_prefix",
            "implementation", "flags", "float_info", "hexversion", "api_version", "getrecursionlimit"},
    "os": {"getcwd", "environ", "getenv", "cpu_count", "getpid", "getppid", "uname", "name", "sep", "linesep",
           "pathsep", "listdir", "getuid", "getgid", "geteuid", "getlogin", "path", "get_terminal_size",
           "getloadavg", "scandir", "stat", "lstat", "access", "devnull", "curdir"},
    "os.path": {"join", "exists", "isfile", "isdir", "islink", "expanduser", "expandvars", "abspath", "basename",
                "dirname", "realpath", "getsize", "getmtime", "splitext", "split", "normpath", "relpath", "sep",
                "commonpath", "isabs"},
}  # fmt: skip
_BANNED_CALLS = {"exec", "eval", "compile", "__import__", "getattr", "setattr", "delattr", "globals", "locals",
                 "vars", "breakpoint", "memoryview", "__build_class__"}  # fmt: skip
_SYSTEM_MODULES = {
    "os", "sys", "subprocess", "shutil", "socket", "ctypes", "pty", "importlib", "urllib", "http", "pathlib",
    "tempfile", "multiprocessing", "threading", "signal", "io", "builtins", "posix", "nt", "runpy", "code",
    "codeop", "pickle", "marshal", "shelve", "dbm", "sqlite3", "zipfile", "tarfile", "ftplib", "smtplib",
    "telnetlib", "asyncio", "concurrent", "webbrowser", "glob", "fileinput", "mmap", "resource", "fcntl", "termios",
    "gc", "inspect", "types", "distutils", "setuptools", "pip", "venv", "ensurepip", "crypt", "pwd",
    "grp", "spwd", "select", "selectors", "xmlrpc", "socketserver", "logging", "atexit", "faulthandler",
}  # fmt: skip
"""Modules that reach the system: imported only as far as _ATTRS allows (os, sys) or not at all."""
_MUTATORS = {"insert", "append", "extend", "remove", "pop", "clear", "update", "setdefault", "putenv", "unsetenv",
             "popitem", "__setitem__", "__delitem__"}  # fmt: skip
_DUNDERS_OK = {"__version__", "__file__", "__name__", "__doc__", "__path__"}
_READ_MODES = {"r", "rb", "rt", "br", "tr"}

_OTHER_DANGER = {
    # per language: what reaches the system (run, write, delete, fork, load code, open sockets)
    "perl": r"\b(system|exec|qx|readpipe|fork|open|sysopen|unlink|rmdir|mkdir|rename|link|symlink|chmod|chown|"
            r"kill|eval|"
            r"do|require|use|syscall|socket|truncate|utime|dbmopen|pipe)\b|`|\bs(.).*\1.*\1[a-z]*e[a-z]*",
    "ruby": r"\b(system|exec|spawn|fork|open|File|FileUtils|IO|Dir|Kernel|eval|instance_eval|require|load|"
            r"Process|Socket|send|__send__|public_send|syscall|`)\b|%x|`",
    "node": r"\b(require|import|process\.binding|process\.dlopen|process\.kill|process\.chdir|child_process|fs|"
            r"eval|Function|constructor|globalThis|global|Reflect|Proxy|WebAssembly|fetch|spawn|exec|Deno|Bun)\b",
    "php": r"\b(system|exec|shell_exec|passthru|popen|proc_open|pcntl_\w+|fopen|file_put_contents|unlink|rmdir|"
           r"mkdir|rename|symlink|chmod|chown|eval|assert|include|require|include_once|require_once|"
           r"create_function|call_user_func\w*|fsockopen|curl_\w+|mail|putenv|dl)\b|`|\$\w+\s*\(|\$\{",
    "lua": r"\b(os|io|require|loadstring|load|dofile|loadfile|package|debug)\b",
    "R": r"\b(system|system2|shell|file|unlink|file\.remove|writeLines|sink|download\.file|source|eval|parse|"
         r"Sys\.setenv|dyn\.load|library|require)\b",
    "awk": r"\bsystem\s*\(|\|\s*(getline|\")|\"\s*\||\bprint[f]?\b[^;{}]*>|\bclose\b|\bfflush\b",
    "osascript": r".",  # AppleScript reaches everything (do shell script): no inline script is harmless
    "pwsh": r".",
    "tclsh": r"\b(exec|open|file|socket|source|load|eval|uplevel|interp)\b",
    "julia": r"\b(run|read|open|rm|mkpath|mkdir|cp|mv|symlink|download|ccall|eval|include|Base\.|pipeline|"
             r"write|chmod|chown|cd|Libc|Sys|spawn|detach)\b|`",
    "emacs": r"(shell-command|call-process|start-process|make-process|delete-file|delete-directory|write-region|"
             r"rename-file|copy-file|make-symbolic-link|url-retrieve|load|eval|require|set-file-modes|find-file)",
    "vim": r"(^|[|:\s])(!|py|python|py3|python3|pyx|lua|perl|ruby|tcl|mz|w\b|write|sav|saveas|so|source|"
           r"call|exe|execute|norm|normal|r\s*!|let\s)|system\(|systemlist\(",
}  # fmt: skip
_CODE_FLAGS = {
    "perl": ("-e", "-E"), "ruby": ("-e",), "node": ("-e", "--eval", "-p", "--print"), "php": ("-r",),
    "lua": ("-e",), "R": ("-e",), "julia": ("-e", "--eval", "-E", "--print"),
    "emacs": ("--eval", "-eval"), "osascript": ("-e",), "pwsh": ("-c", "-Command", "-command", "-EncodedCommand",
    "-e", "-enc"), "tclsh": (),
}  # fmt: skip
_FAMILY = {
    "perl": "perl", "ruby": "ruby", "node": "node", "nodejs": "node", "bun": "node", "deno": "node", "php": "php",
    "lua": "lua", "luajit": "lua", "Rscript": "R", "osascript": "osascript", "pwsh": "pwsh", "powershell": "pwsh",
    "tclsh": "tclsh", "julia": "julia", "emacs": "emacs",
}  # fmt: skip
_AWKS = {"awk", "gawk", "mawk", "nawk", "busybox-awk"}
_PYTHONS = re.compile(r"^(python[0-9.]*|pypy[0-9.]*)$")
_HARMLESS_SCRIPT = {
    "osascript": re.compile(r"""(display (notification|dialog|alert)|say|beep)( "[^"\\]*"| \d+)?( (with title|"""
                            r"""subtitle|sound name) "[^"\\]*")*"""),
    "pwsh": re.compile(r"""(Write-(Host|Output)|echo) ("[^"$`]*"|'[^']*'|\$PSVersionTable(\.PSVersion)?)|"""
                       r"""\$PSVersionTable(\.PSVersion)?|Get-Date|Get-Host"""),
}  # fmt: skip
_PERL_SAFE_MODULES = {"strict", "warnings", "utf8", "List::Util", "Data::Dumper", "JSON::PP", "Scalar::Util",
                      "POSIX=floor", "Time::HiRes", "Text::Wrap", "Getopt::Long", "MIME::Base64", "Digest::MD5",
                      "Digest::SHA", "Encode", "open=:std,:utf8", "bignum", "bigint"}  # fmt: skip


def check(cmd: Cmd, name: str) -> None:
    """Refuse inline program text this command runs unless it is provably harmless."""
    args = cmd.words[1:]
    fed = _fed(cmd)
    if _PYTHONS.match(name):
        py = _after(args, ("-c",), cluster=False)
        if py is None and fed is not None and not [a for a in args if not a.startswith("-")]:
            py = fed  # `python3 <<< 'code'`: the program comes in on stdin
        if py is not None:
            why = python_risk(py)
            if why:
                raise Blocked(Block("inline-code", cmd.text, f"python code that {why}"))
        return
    family = _FAMILY.get(name)
    code: str | None
    if family == "node" and name == "deno" and args[:1] == ["eval"]:
        code = args[1] if len(args) > 1 else ""
    elif family is not None:
        code = _after(args, _CODE_FLAGS[family], cluster=family in ("perl", "ruby"))
    elif name in ("vim", "vi", "nvim", "ex", "view", "gvim"):
        family = "vim"
        values = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-c", "--cmd", "-S")]
        values += [a[1:] for a in args if a.startswith("+") and len(a) > 1]
        code = "\n".join(values) if values else None
        if "-s" in args or "-S" in args or "-u" in args:  # a script of keystrokes or commands from a file
            code = (code or "") + "\nso"
    elif name in _AWKS:
        family, code = "awk", _awk_program(args)
    elif name == "sed":
        for script in _sed_scripts(args):
            if _sed_runs(script):
                raise Blocked(Block("inline-code", cmd.text, "a sed script that runs commands (the e command)"))
            for target in re.findall(r"(?:^|[;\n}]|/[gpIiMm0-9]*)\s*[wW]\s+(\S+)", script):
                if is_ssh_path(target) or target.startswith("/dev/"):
                    raise Blocked(Block("inline-code", cmd.text, f"a sed script that writes to {target}"))
        return
    else:
        return
    if code is None and family not in ("awk",) and fed is not None:
        code = fed  # `tclsh <<< 'code'`, `perl <<EOF … EOF`
    if family == "perl":
        modules = [a[2:] for a in args if a.startswith(("-M", "-m")) and len(a) > 2]
        risky = [m for m in modules if m.split("=")[0].lstrip("-") not in _PERL_SAFE_MODULES]
        if risky:
            raise Blocked(Block("inline-code", cmd.text, f"perl loads {risky[0]!r}, which can reach the system"))
    if code is None:
        return
    if family == "node":
        code = re.sub(r"""\brequire\(\s*(['"])[^'"]+\.json\1\s*\)""", "JSONFILE", code)  # reads a JSON file
    if family in ("osascript", "pwsh") and _HARMLESS_SCRIPT[family].fullmatch(code.strip()):
        return
    if _OTHER_DANGER[family] == r".":
        raise Blocked(Block("inline-code", cmd.text, f"{name} code: any inline {name} script can reach the system"))
    m = re.search(_OTHER_DANGER[family], code)
    if m:
        raise Blocked(Block("inline-code", cmd.text, f"{name} code that can reach the system ({m.group(0)[:20]!r})"))


def python_risk(code: str) -> str | None:
    """Why this Python is not provably harmless, or None when it only computes, reads and prints."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return "cannot be parsed"
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                root = a.name.split(".")[0]
                if not _module_ok(a.name) and (root in _SYSTEM_MODULES or (a.asname is None and "." in a.name)):
                    return f"imports {a.name}"
                # another installed package may be imported to ask its version, never called (see ast.Call)
                aliases[(a.asname or a.name).split(".")[0]] = a.name if a.asname else root
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            for a in node.names:
                full = f"{mod}.{a.name}"
                if not (_module_ok(full) or (mod in _ATTRS and a.name in _ATTRS[mod]) or (
                        mod in _SAFE_MODULES and mod not in _ATTRS)):  # fmt: skip
                    return f"imports {a.name} from {mod}"
                aliases[a.asname or a.name] = full
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("__") and node.attr not in _DUNDERS_OK:
                return f"reaches {node.attr}"
            if node.attr in _WRITES:
                return f"calls {node.attr}"
            owner = _dotted(node.value, aliases)
            if owner in _ATTRS and node.attr not in _ATTRS[owner]:
                return f"uses {owner}.{node.attr}"
            if owner.split(".")[0] in _ATTRS and node.attr in _MUTATORS:
                return f"changes {owner} ({node.attr})"  # `sys.path.insert(0, '/tmp')` then an import runs /tmp
            root = owner.split(".")[0]
            if (owner and root not in _ATTRS and not _module_ok(owner) and node.attr not in _DUNDERS_OK
                    and node.attr not in _THIRD_PARTY_READS.get(owner, ())):  # fmt: skip
                return f"uses {owner}.{node.attr}"
        elif isinstance(node, ast.Name):
            if node.id in _BANNED_CALLS or (node.id.startswith("__") and node.id not in _DUNDERS_OK):
                return f"uses {node.id}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
            mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"),
                                                                None)  # fmt: skip
            if mode is not None and not (isinstance(mode, ast.Constant) and mode.value in _READ_MODES):
                return "opens a file for writing"
    return None


def _module_ok(name: str) -> bool:
    return name in _SAFE_MODULES or name in _ATTRS or name.split(".")[0] in _SAFE_MODULES - {"importlib", "email"}


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str:
    """`os.path` for an attribute chain rooted at an imported name (as imported), else ""."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id, "")
    if isinstance(node, ast.Attribute):
        owner = _dotted(node.value, aliases)
        return f"{owner}.{node.attr}" if owner else ""
    return ""


def _after(args: list[str], flags: tuple[str, ...], *, cluster: bool) -> str | None:
    """The code given to a code flag: `-e CODE`, `-eCODE`, `--eval=CODE`, and perl's `-ne CODE`, `-lane CODE`."""
    for i, a in enumerate(args):
        for f in flags:
            if a == f:
                return args[i + 1] if i + 1 < len(args) else ""
            if f.startswith("--") and a.startswith(f + "="):
                return a[len(f) + 1 :]
            if not f.startswith("--") and a.startswith(f) and len(a) > len(f) and len(f) == 2:
                return a[len(f) :]
        if cluster and a.startswith("-") and not a.startswith("--") and a[-1:] in ("e", "E") and len(a) > 2:
            return args[i + 1] if i + 1 < len(args) else ""
    return None


def _awk_program(args: list[str]) -> str | None:
    """The awk program: the first operand unless -f names a file (then none on the line)."""
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-f", "--file"):
            return None
        if a in ("-F", "-v", "--assign", "--field-separator"):
            i += 2
            continue
        if a.startswith("-") and a != "-":
            i += 1
            continue
        return a
    return None


def _sed_scripts(args: list[str]) -> list[str]:
    scripts = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-e", "--expression")]
    scripts += [a.split("=", 1)[1] for a in args if a.startswith("--expression=")]
    if not scripts and not any(a in ("-f", "--file") for a in args):
        first = next((a for a in args if not a.startswith("-")), None)
        if first is not None:
            scripts.append(first)
    return scripts


def _fed(cmd: Cmd) -> str | None:
    """Program text handed to the command on stdin by a here-string or a here-document."""
    for kind, target in cmd.redirects:
        if kind == "<<<":
            return target
    for r in cmd.redirect_nodes:
        heredoc = getattr(r, "heredoc", None)
        if heredoc is not None:
            body = str(getattr(heredoc, "value", ""))
            return body.rsplit("\n", 1)[0] if "\n" in body else ""
    return None


def _sed_runs(script: str) -> bool:
    """Does a sed script run shell commands: the `e` command, or an `s` command with the `e` flag?"""
    i, n = 0, len(script)
    while i < n:
        ch = script[i]
        if ch in " \t\n;{}!" or ch.isdigit() or ch in ",$":
            i += 1
            continue
        if ch in "/\\":  # an address /re/ (or \%re%): skip it
            delim = script[i + 1] if ch == "\\" and i + 1 < n else "/"
            i = _skip(script, i + (2 if ch == "\\" else 1), delim)
            continue
        if ch == "e":
            return True
        if ch in "sy" and i + 1 < n:
            delim = script[i + 1]
            j = _skip(script, i + 2, delim)
            j = _skip(script, j, delim)
            flags = re.match(r"[A-Za-z0-9]*", script[j:])
            if ch == "s" and flags and "e" in flags.group(0):
                return True
            i = j + (len(flags.group(0)) if flags else 0)
            continue
        # any other command: skip to the end of it
        while i < n and script[i] not in ";\n}":
            i += 1
    return False


def _skip(script: str, i: int, delim: str) -> int:
    """Past the next unescaped `delim` (a regex or replacement part)."""
    while i < len(script):
        if script[i] == "\\":
            i += 2
            continue
        if script[i] == delim:
            return i + 1
        i += 1
    return i
