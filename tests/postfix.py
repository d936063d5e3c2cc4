"""A real Postfix for tests: its own instance (``postfix -c DIR``) on loopback ports, with a
transport table that routes the bounce domain to one port and everything else to another.

It needs Debian's ``postfix`` package and root (the master process starts as root and
runs its daemons as the ``postfix`` user). Without them the tests that use it skip, unless
``PRESS_REQUIRE_POSTFIX=1`` (as in CI), where they fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.waiting import wait_for

# Only the services a relay uses; no local delivery, no chroot (the instance has no jail).
MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
myhostname = relay.test
mydomain = relay.test
myorigin = relay.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_dns_support_level = disabled
disable_dns_lookups = yes
# As the README routes bounces: bounces@domain in the transport table takes bounces+…@.
recipient_delimiter = +
transport_maps = texthash:{root}/conf/transport
local_transport = error:no local delivery here
alias_maps =
alias_database =
maillog_file_prefixes = {root}
maillog_file = {root}/maillog
# Mail that cannot be handed on yet is retried each second; a sender hears of a delay
# after two seconds (a real relay: after hours).
delay_warning_time = 2s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 1s
smtp_connect_timeout = 5s
"""


@dataclass
class Postfix:
    url: str  # where press hands it mail, in plain SMTP on loopback
    log: Path

    def logged(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


def _postfix(conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Postfix reports to the terminal or to its log; without a terminal, only the log.
    return subprocess.run(
        ["postfix", "-c", str(conf), *args], capture_output=True, text=True, timeout=60
    )


def available() -> str:
    """Why Postfix cannot run here, or the empty string."""
    if shutil.which("postfix") is None:
        return "Postfix is not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "Postfix's master process must start as root"
    return ""


@contextmanager
def postfix_relay(port: int, routes: dict[str, str]) -> Iterator[Postfix]:
    """Postfix listening on 127.0.0.1:``port``, relaying for loopback clients; ``routes``
    maps an address, a domain or ``*`` to ``HOST:PORT``, where it hands the mail on by SMTP."""
    why = available()
    if why:
        if os.environ.get("PRESS_REQUIRE_POSTFIX") == "1":
            pytest.fail(f"PRESS_REQUIRE_POSTFIX=1 but {why}")
        pytest.skip(why)
    # Not under pytest's tmp_path: the postfix user must reach the data directory.
    root = Path(tempfile.mkdtemp(prefix="press-postfix-"))
    root.chmod(0o755)
    conf = root / "conf"
    conf.mkdir()
    (root / "queue").mkdir()
    (root / "data").mkdir()
    shutil.chown(root / "data", "postfix")
    (conf / "main.cf").write_text(MAIN_CF.format(root=root))
    (conf / "master.cf").write_text(MASTER_CF.format(port=port))
    (conf / "transport").write_text(
        "".join(f"{domain} smtp:[{where.rsplit(':', 1)[0]}]:{where.rsplit(':', 1)[1]}\n"
                for domain, where in routes.items())
    )  # fmt: skip
    relay = Postfix(url=f"smtp://127.0.0.1:{port}?starttls=no", log=root / "maillog")
    checked = _postfix(conf, "check")
    assert checked.returncode == 0, relay.logged() or checked.stderr
    started = _postfix(conf, "start")
    assert started.returncode == 0, relay.logged() or started.stderr
    try:
        wait_for(lambda: "daemon started" in relay.logged(), timeout=30)
        yield relay
    except BaseException:
        print(relay.logged())  # what Postfix did, beside the failure pytest shows
        raise
    finally:
        pid = (root / "queue" / "pid" / "master.pid").read_text().strip()
        _postfix(conf, "stop")  # the master stops its daemons and leaves its pid file
        wait_for(lambda: not Path(f"/proc/{pid}").exists(), timeout=30)
        shutil.rmtree(root, ignore_errors=True)
