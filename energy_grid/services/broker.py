"""Who may publish and read what on the meters' MQTT broker (mosquitto): its password and ACL files.

Meter gateways publish each meter's signed readings on

    energy-grid/<chainId>/meters/<meter address>/readings

and the gateway service answers each reading on the meter's `accepted` or `rejected` topic beside
it. The topics carry the address in lowercase hex (one spelling, so one topic per meter); a
meter's broker user is its address in EIP-55 checksum form, the form the chain reports. A meter
can only ever speak for itself:

- a meter may publish only its own `readings` and read only its own topics (`<address>/#`);
- the gateway user may read every meter's `readings` and publish every meter's `accepted` and
  `rejected`, and nothing else;
- the gateway alone publishes the chain's clock (`energy-grid/<chainId>/clock`, retained), which
  every other user may read;
- a fleet user, when there is one, publishes readings for every meter and reads every answer: a
  head-end system that relays many meters' signed readings, or the local virtual meters. It still
  cannot forge a reading, since each carries its meter's own signature.

Anything the ACL file does not grant, mosquitto refuses. The password file holds salted hashes that
mosquitto's own `mosquitto_passwd` writes (Debian's `mosquitto` package; `make broker` installs it).
`mosquitto_config` writes the broker's own configuration around those two files.

`write_password_file` and `acl_text` write the files anew, for a new broker; `add_broker_user` and
`add_meter_to_acl` add one meter to files a running broker reads, leaving every other user as it
was, and `reload_broker` (SIGHUP) or `reload_system_broker` (`systemctl reload`) has the broker read
them again without dropping a connection.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from eth_utils import is_address, is_checksum_address, is_checksum_formatted_address, to_checksum_address

from energy_grid.chain.errors import GridError
from energy_grid.services.gateway.messages import MAX_MESSAGE_BYTES, clock_topic

TOPIC_ROOT = "energy-grid"
# Debian installs the broker in /usr/sbin, which is not on an ordinary user's PATH.
SYSTEM_PROGRAM_DIRS = ("/usr/sbin", "/usr/bin")
# A user name is one word of the ACL file: no spaces, and none of MQTT's topic wildcards or
# separators, nor the `:` that separates a user from its hash in the password file.
MAX_INFLIGHT_MESSAGES = 1_000
MAX_QUEUED_MESSAGES = 1_000_000  # a day of 10,000 meters' readings, about 300 MB at most
USER_NAME = re.compile(r"[A-Za-z0-9_.@-]+")
# Debian's packaged broker runs as this systemd unit.
SYSTEM_BROKER_UNIT = "mosquitto"
# An ACL file's `user` and `pattern` lines each begin the grants that follow them.
ACL_SECTION_STARTS = ("user ", "pattern ")


class BrokerConfigError(GridError):
    """The broker's access files cannot be written: mosquitto's tools are missing, or a user name
    or meter address cannot appear in them."""


def mosquitto_program(name: str) -> str:
    """The path of one of mosquitto's programs (`mosquitto`, `mosquitto_passwd`), from PATH or
    where Debian installs them."""
    search_path = os.pathsep.join([os.environ.get("PATH", ""), *SYSTEM_PROGRAM_DIRS])
    found = shutil.which(name, path=search_path)
    if found is None:
        raise BrokerConfigError(f"{name} is not installed: run `make broker` (it installs Debian's mosquitto package).")
    return found


def meter_topic(chain_id: int, meter: str, leaf: str) -> str:
    """The topic `leaf` (`readings`, `accepted`, `rejected`) of `meter` on chain `chain_id`; the
    address is written in lowercase hex."""
    return _topic(chain_id, _meter_user(meter).lower(), leaf)


def acl_text(
    chain_id: int, meters: Iterable[str], gateway_user: str, fleet_user: str | None = None, monitor_user: str | None = None
) -> str:
    """The content of a mosquitto ACL file for chain `chain_id`: one block for `gateway_user`, one
    for `fleet_user` and one for `monitor_user` if given, then one per meter address (each meter's
    user name is its checksum address)."""
    if chain_id <= 0:
        raise BrokerConfigError(f"a chain id is a positive integer, not {chain_id}")
    services = [user for user in (gateway_user, fleet_user, monitor_user) if user is not None]
    for user in services:
        _check_user_name(user)
    meter_users = sorted({_meter_user(meter) for meter in meters})
    if len(set(services)) != len(services) or set(services) & set(meter_users):
        raise BrokerConfigError(f"the service users ({', '.join(services)}) must differ from each other and every meter")
    lines = [
        "# The gateway service reads every meter's readings and answers on its accepted or rejected topic.",
        f"user {gateway_user}",
        f"topic read {_topic(chain_id, '+', 'readings')}",
        f"topic write {_topic(chain_id, '+', 'accepted')}",
        f"topic write {_topic(chain_id, '+', 'rejected')}",
        f"topic write {clock_topic(chain_id)}",
    ]
    if fleet_user is not None:
        lines += [
            "",
            "# The fleet relays every meter's signed readings and reads every answer.",
            f"user {fleet_user}",
            f"topic write {_topic(chain_id, '+', 'readings')}",
            f"topic read {_topic(chain_id, '+', 'accepted')}",
            f"topic read {_topic(chain_id, '+', 'rejected')}",
            f"topic read {clock_topic(chain_id)}",
        ]
    if monitor_user is not None:
        lines += [
            "",
            "# A monitor watches every meter's readings and answers and publishes nothing.",
            f"user {monitor_user}",
            f"topic read {_topic(chain_id, '+', '#')}",
            f"topic read {clock_topic(chain_id)}",
        ]
    for user in meter_users:
        lines += ["", *meter_acl_block(chain_id, user)]
    return "\n".join(lines) + "\n"


def meter_acl_block(chain_id: int, meter: str) -> list[str]:
    """One meter's lines of the ACL file: its user (the checksum address) may publish its own
    readings, read its own topics and read the chain's clock."""
    user = _meter_user(meter)
    return [
        "# A meter publishes its own readings only, and reads only its own topics and the chain's clock.",
        f"user {user}",
        f"topic write {_topic(chain_id, user.lower(), 'readings')}",
        f"topic read {_topic(chain_id, user.lower(), '#')}",
        f"topic read {clock_topic(chain_id)}",
    ]


def mosquitto_config(
    host: str,
    port: int,
    *,
    password_file: Path | None,
    acl_file: Path | None,
    allow_anonymous: bool = False,
    persistence_dir: Path | None = None,
    run_as_user: str | None = None,
    autosave_interval_s: int = 5,
) -> str:
    """The content of a mosquitto configuration with one plain listener on `host`:`port`, its log
    on stderr (for the process manager to keep). With `persistence_dir`, mosquitto keeps its
    sessions and their queued QoS 1 messages there, saved every `autosave_interval_s` seconds and on
    exit, so a restarted broker still delivers them; without it, nothing is kept. Started as root,
    mosquitto switches to the `mosquitto` user unless `run_as_user` names the user to stay."""
    lines = [
        f"listener {port} {host}",
        f"allow_anonymous {'true' if allow_anonymous else 'false'}",
        "log_dest stderr",
        # A community's readings of an interval arrive together: the gateway may hold many of them
        # unacknowledged at once (mosquitto's default: 20), and while it is down the broker queues
        # every interval's readings for its session (default: 1,000 messages, then it drops them).
        f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        # No message larger than a signed reading may be reaches the gateway, which refuses one itself too:
        # the broker completes the publisher's QoS flow and forwards nothing (an MQTT 5 publisher is told why).
        f"message_size_limit {MAX_MESSAGE_BYTES}",
    ]
    if persistence_dir is None:
        lines.append("persistence false")
    else:
        lines += ["persistence true", f"persistence_location {persistence_dir}/", f"autosave_interval {autosave_interval_s}"]
    if run_as_user is not None:
        lines.append(f"user {run_as_user}")
    if password_file is not None:
        lines.append(f"password_file {password_file}")
    if acl_file is not None:
        lines.append(f"acl_file {acl_file}")
    return "\n".join(lines) + "\n"


def write_password_file(path: Path, users: Mapping[str, str]) -> None:
    """Writes a new mosquitto password file at `path` (replacing any file there) holding each user
    of `users` (user name -> password), readable by its owner only. The passwords are hashed by
    `mosquitto_passwd -b`, which takes them on its command line: run it on a host where no other
    user can list this one's processes."""
    program = mosquitto_program("mosquitto_passwd")
    for user in users:
        _check_user_name(user)
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    for user, password in users.items():
        done = subprocess.run([program, "-b", str(path), user, password], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BrokerConfigError(f"mosquitto_passwd could not add {user} to {path}: {done.stderr.strip() or done.stdout.strip()}")


def add_broker_user(path: Path, user: str, password: str) -> None:
    """Gives `user` the password `password` in the existing mosquitto password file `path`: its line
    is replaced where it stands (`mosquitto_passwd -b` updates a user in place) or added at the end,
    and every other user's line stays as it was. The file is replaced in one step, with its mode and
    owner, so a broker reloading meanwhile reads the old file or the new one, never half of one. The
    password passes on mosquitto_passwd's command line, as for write_password_file."""
    _check_user_name(user)
    program = mosquitto_program("mosquitto_passwd")
    current = _read_existing(path, "password file")

    def change(copy: Path) -> None:
        copy.write_bytes(current)
        done = subprocess.run([program, "-b", str(copy), user, password], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BrokerConfigError(f"mosquitto_passwd could not add {user} to {path}: {done.stderr.strip() or done.stdout.strip()}")

    _replace_file(path, change)


def broker_users(path: Path) -> list[str]:
    """The users of the mosquitto password file `path`, in its order."""
    lines = _read_existing(path, "password file").decode().splitlines()
    return [line.split(":", 1)[0] for line in lines if line.strip() and not line.startswith("#")]


def meter_password_lines(path: Path) -> list[str]:
    """The lines of the mosquitto password file `path` whose user is a meter (its address), as they
    stand (the user and its salted hash); none when there is no file."""
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if is_address(line.split(":", 1)[0]) and ":" in line]


def append_password_lines(path: Path, lines: Iterable[str]) -> None:
    """Adds password lines read from a file mosquitto_passwd wrote (meter_password_lines) to the end
    of the password file `path`."""
    added = "".join(line + "\n" for line in lines)
    if added:
        with path.open("a") as file:
            file.write(added)


def add_meter_to_acl(path: Path, chain_id: int, meter: str) -> bool:
    """Appends the meter's block (`meter_acl_block`) to the existing ACL file `path`, which is
    replaced in one step with its mode and owner; every byte already there stays. Returns False,
    leaving the file untouched, when the meter has that block there already. A meter whose user has
    other grants there (another chain's, or lines written by hand) is refused: those lines are the
    operator's to mend, not this function's to guess."""
    block = meter_acl_block(chain_id, meter)
    user_line, grants = block[1], block[2:]
    current = _read_existing(path, "ACL file")
    lines = [line.strip() for line in current.decode("utf-8", errors="replace").splitlines()]
    if user_line in lines:
        if _acl_section(lines, user_line) == grants:
            return False
        raise BrokerConfigError(
            f"{path} already grants {user_line.removeprefix('user ')} other topics than its block of chain {chain_id}: "
            "correct or remove its lines there, then run again"
        )
    separator = b"" if not current else b"\n" if current.endswith(b"\n") else b"\n\n"
    addition = ("\n".join(block) + "\n").encode()
    _replace_file(path, lambda copy: copy.write_bytes(current + separator + addition))
    return True


def reload_broker(pid: int) -> None:
    """Has the mosquitto of process `pid` read its configuration, password and ACL files again
    (SIGHUP): its clients stay connected."""
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise BrokerConfigError(f"no broker runs as process {pid}") from None


def reload_system_broker(unit: str = SYSTEM_BROKER_UNIT) -> None:
    """Has Debian's packaged mosquitto read its files again: `systemctl reload` of its unit (a
    SIGHUP, so its clients stay connected)."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        raise BrokerConfigError(f"systemctl is not installed here: reload the broker by hand (SIGHUP to the {unit} process)")
    done = subprocess.run([systemctl, "reload", unit], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}"
        raise BrokerConfigError(f"`systemctl reload {unit}` failed ({reason}): reload the broker by hand")


def _acl_section(lines: list[str], user_line: str) -> list[str]:
    """The grants that follow `user_line` up to the next user or pattern, without comments and blank lines."""
    following = lines[lines.index(user_line) + 1 :]
    end = next((i for i, line in enumerate(following) if line.startswith(ACL_SECTION_STARTS)), len(following))
    return [line for line in following[:end] if line and not line.startswith("#")]


def _read_existing(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BrokerConfigError(f"there is no {what} at {path}: write the broker's access files first (docs/deployment.md)") from None
    except OSError as err:
        raise BrokerConfigError(f"cannot read the {what} {path}: {err.strerror}") from None


def _replace_file(path: Path, write: Callable[[Path], object]) -> None:
    """Replaces `path` by a file `write` fills, made beside it with its mode and owner, on disk before
    the rename that puts it in place: a crash leaves the old file or the new one."""
    before = path.stat()
    copy: Path | None = None
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # readable by its owner only
        os.close(descriptor)
        copy = Path(name)
        write(copy)
        os.chmod(copy, stat.S_IMODE(before.st_mode))
        if (before.st_uid, before.st_gid) != (os.getuid(), os.getgid()):
            os.chown(copy, before.st_uid, before.st_gid)
        with copy.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(copy, path)
    except PermissionError as err:
        raise BrokerConfigError(f"cannot replace {path} with its owner and mode: {err.strerror} (run as its owner or root)") from None
    finally:
        if copy is not None:
            copy.unlink(missing_ok=True)


def _topic(chain_id: int, meter_segment: str, leaf: str) -> str:
    """A meter topic whose address segment and leaf may also be MQTT wildcards (`+`, `#`)."""
    return f"{TOPIC_ROOT}/{chain_id}/meters/{meter_segment}/{leaf}"


def _meter_user(meter: str) -> str:
    # eth_utils takes any mix of cases for an address; a mixed-case one must carry a right checksum.
    if not is_address(meter) or (is_checksum_formatted_address(meter) and not is_checksum_address(meter)):
        raise BrokerConfigError(f"{meter!r} is not a meter address (or its checksum is wrong)")
    return to_checksum_address(meter)


def _check_user_name(user: str) -> None:
    if not USER_NAME.fullmatch(user):
        raise BrokerConfigError(f"{user!r} cannot be a broker user name: letters, digits and _ . @ - only")
