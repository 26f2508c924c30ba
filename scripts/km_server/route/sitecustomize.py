"""Routes the Keyboard Maestro MCP server's ``osascript`` calls, without touching its code.

Python imports ``sitecustomize`` at start-up from the first directory on ``sys.path`` that
has one; ``record.py`` puts this directory on the server process's ``PYTHONPATH``. Every
child process starts through ``subprocess.Popen`` (``subprocess.run`` and asyncio's
``create_subprocess_exec`` both use it), so wrapping ``Popen.__init__`` catches every exec
of ``osascript`` or ``/usr/bin/osascript``:

- ``KM_STANDIN_MODE=standin``: the program becomes ``KM_STANDIN_COMMAND`` (a JSON list,
  e.g. ``["/path/python", "/path/scripts/km_server/osascript"]``), arguments unchanged.
- ``KM_STANDIN_MODE=absent``: the exec fails as on a machine without ``osascript``
  (``FileNotFoundError: [Errno 2] No such file or directory: 'osascript'``), whatever the
  platform the recording runs on.

Nothing else is changed: other programs (``/usr/bin/afplay``, ``/usr/bin/open``) run or
fail as they would.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess

_PROGRAMS = ("osascript", "/usr/bin/osascript")
_MODE = os.environ.get("KM_STANDIN_MODE", "")
_COMMAND = json.loads(os.environ.get("KM_STANDIN_COMMAND", "[]"))
_original_init = subprocess.Popen.__init__


def _routed_init(self, args, *rest, **kwargs):  # type: ignore[no-untyped-def]
    if isinstance(args, list | tuple) and args and args[0] in _PROGRAMS:
        if _MODE == "absent":
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), args[0])
        if _MODE == "standin" and _COMMAND:
            args = [*_COMMAND, *args[1:]]
            kwargs.pop("executable", None)
    return _original_init(self, args, *rest, **kwargs)


if _MODE in ("standin", "absent"):
    subprocess.Popen.__init__ = _routed_init  # type: ignore[method-assign]
