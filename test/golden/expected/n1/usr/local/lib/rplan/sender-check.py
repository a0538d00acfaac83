#!/usr/bin/python3
# rplan's sender check (planning/mail/sender-check.ts): a milter on the submission service only.
# Arguments: <sender-login table> <milter socket> <recipients>/<seconds>.
# The From header of a message a logged-in user submits must be one address that user owns — its
# `mail` or an `rplanMailAlias` — asked of this node's replica through postfix's own sender-login
# table (the one smtpd_sender_login_maps checks the envelope sender with). A mismatch is refused
# when the headers end (550 5.7.1), so nothing forged is queued or signed; a directory that cannot
# answer defers (451). It also limits how many recipients one login may send to per window, on this
# node (452 at RCPT once reached: the client retries later), so one stolen password cannot turn the
# node into a spam source. It logs nothing: its answers name users, and the logs must not
# (docs/anonymity.md).
import collections
import email.utils
import subprocess
import sys
import threading
import time

import Milter

TABLE = sys.argv[1]
SOCKET = sys.argv[2]
# "<recipients>/<seconds>"
LIMIT, WINDOW = (int(x) for x in sys.argv[3].split("/"))

_sent = collections.defaultdict(collections.deque)
_sent_lock = threading.Lock()


def take_recipient(login, now=None):
    """Counts one recipient for `login`; False when the window already holds LIMIT of them."""
    now = time.monotonic() if now is None else now
    with _sent_lock:
        times = _sent[login]
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if len(times) >= LIMIT:
            return False
        times.append(now)
        return True


def owners(address):
    """The logins that own `address` (empty: nobody does), or None when the directory cannot say."""
    try:
        r = subprocess.run(["postmap", "-q", address, TABLE], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode == 0:
        return {o.strip().lower() for o in r.stdout.split(",") if o.strip()}
    # postmap exits 1 both for "not found" (silently) and for a failed lookup (with a message).
    return set() if r.returncode == 1 and not r.stderr.strip() else None


class SenderCheck(Milter.Base):
    def __init__(self):
        self.login = None
        self.froms = []

    def envfrom(self, mailfrom, *params):
        self.login = self.getsymval("{auth_authen}")
        self.froms = []
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        if self.login and not take_recipient(self.login.lower()):
            self.setreply("452", "4.7.1", "Sending limit reached (%d recipients in %d s): try again later" % (LIMIT, WINDOW))
            return Milter.TEMPFAIL
        return Milter.CONTINUE

    def header(self, name, value):
        if name.lower() == "from":
            self.froms.append(value)
        return Milter.CONTINUE

    def eoh(self):
        # Not logged in: not a submission this check judges (the service refuses those anyway).
        # No From header: nothing to forge.
        if not self.login or not self.froms:
            return Milter.CONTINUE
        addresses = [a for _, a in email.utils.getaddresses(self.froms)]
        if len(self.froms) != 1 or len(addresses) != 1 or "@" not in addresses[0]:
            self.setreply("550", "5.7.1", "The From header must hold one address, your own")
            return Milter.REJECT
        found = owners(addresses[0])
        if found is None:
            self.setreply("451", "4.3.0", "The From address cannot be checked now, try again later")
            return Milter.TEMPFAIL
        if self.login.lower() not in found:
            self.setreply("550", "5.7.1", "From header address not owned by user %s" % self.login)
            return Milter.REJECT
        return Milter.CONTINUE


if __name__ == "__main__":
    Milter.factory = SenderCheck
    Milter.runmilter("rplan-sender-check", SOCKET, timeout=60)
