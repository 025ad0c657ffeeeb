"""A real Dovecot IMAP server for tests: started on a loopback port with a throw-away config.

Debian's ``dovecot-imapd`` (``make test`` installs it where apt is ours). Missing, the tests
that need it skip with the reason, and fail under ``CI=true`` (``tests.services.require``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.services import port_open, require

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "bookings", "app-password-1"


@dataclass(frozen=True)
class Dovecot:
    host: str
    port: int
    user: str
    password: str
    root: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _mail_owner() -> tuple[str, int, int]:
    """Dovecot never serves mail as root: as root, mail belongs to Debian's ``dovecot`` user."""
    entry = pwd.getpwuid(os.getuid()) if os.getuid() != 0 else pwd.getpwnam("dovecot")
    return entry.pw_name, entry.pw_uid, entry.pw_gid


CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
default_internal_user = {internal}
default_login_user = {login}
mail_uid = {uid}
mail_gid = {gid}
protocol imap {{
  mail_max_userip_connections = 50
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
"""


@contextlib.contextmanager
def dovecot_running() -> Iterator[Dovecot]:
    require(os.path.exists(DOVECOT), "Debian's dovecot-imapd (apt-get install -y dovecot-imapd)")
    owner, uid, gid = _mail_owner()
    root = Path(tempfile.mkdtemp(prefix="charterops-dovecot-"))
    root.chmod(0o755)
    for sub in ("mail", "home", "state", "run"):
        (root / sub).mkdir()
    if os.getuid() == 0:
        for sub in ("mail", "home"):
            os.chown(root / sub, uid, gid)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = _free_port()
    internal = owner if os.getuid() != 0 else "dovecot"
    login = owner if os.getuid() != 0 else "dovenull"
    (root / "dovecot.conf").write_text(
        CONFIG.format(root=root, port=port, uid=uid, gid=gid, internal=internal, login=login)
    )
    process = subprocess.Popen(  # noqa: S603 (a fixed binary and our own config)
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while not port_open("127.0.0.1", port) and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.1)
        log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
        if not port_open("127.0.0.1", port):
            output = process.stdout.read().decode() if process.poll() is not None else ""
            require(False, f"a Dovecot that starts here ({output or log})"[:500])
        yield Dovecot("127.0.0.1", port, USER, PASSWORD, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)
