"""Debian bookworm chroots for the deployment tests, from a cached debootstrap tarball.

The base system is what a Raspberry Pi OS Lite card or a fresh Debian server
brings before Ansible runs (python3, systemd, sudo, apt). debootstrap takes about
a minute, so the result is kept as a tarball under the test cache and unpacked
for each test host. A policy-rc.d forbids package scripts to start services, as
in any image build: Mosquitto's or nginx's postinst would otherwise start a
daemon on the host's network from inside the chroot.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

SUITE = "bookworm"
MIRROR = os.environ.get("RESSENTI_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What a Raspberry Pi OS Lite image or a Debian server has before provisioning.
BASE_PACKAGES = ("python3", "python3-apt", "systemd", "sudo", "ca-certificates")
# Bump when the recipe below changes, so old tarballs are not reused.
RECIPE_VERSION = 1
POLICY_RC_D = "#!/bin/sh\n# Test chroot: package scripts never start services.\nexit 101\n"


def cache_dir() -> Path:
    path = Path(os.environ.get("RESSENTI_TEST_CACHE", Path.home() / ".cache" / "ressenti-tests"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _recipe_key() -> str:
    recipe = f"{RECIPE_VERSION} {SUITE} {MIRROR} minbase {' '.join(BASE_PACKAGES)}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def _run(argv: Sequence[str | Path], what: str, **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        pytest.fail(f"{what} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def base_tarball() -> Path:
    """The cached base system, built with debootstrap on first use (one builder at a time)."""
    tarball = cache_dir() / f"debian-{SUITE}-base-{_recipe_key()}.tar"
    if tarball.exists():
        return tarball
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    if not Path(debootstrap).exists():
        pytest.fail("debootstrap is not installed: apt-get install -y debootstrap (see .ci/run)")
    if os.geteuid() != 0:
        pytest.fail("the deployment tests need root (debootstrap and chroot)")
    with open(cache_dir() / "debootstrap.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.exists():  # another process built it while we waited
            return tarball
        with tempfile.TemporaryDirectory(prefix="ressenti-debootstrap-", dir=cache_dir()) as tmp:
            root = Path(tmp, "root")
            _run([debootstrap, "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
                  SUITE, root, MIRROR], "debootstrap")
            policy = root / "usr/sbin/policy-rc.d"
            policy.write_text(POLICY_RC_D)
            policy.chmod(0o755)
            _run(["chroot", root, "apt-get", "clean"], "apt-get clean")
            partial = tarball.with_suffix(".partial")
            _run(["tar", "--numeric-owner", "--xattrs", "-C", root, "-cf", partial, "."], "tar")
            partial.rename(tarball)
    return tarball


def make_chroot(dest: Path) -> Path:
    """Unpack the base system into `dest`, with the host's DNS so apt and pip reach their registries."""
    dest.mkdir(parents=True)
    _run(["tar", "--numeric-owner", "--xattrs", "-C", dest, "-xf", base_tarball()], "unpacking the base chroot")
    resolv = dest / "etc/resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    shutil.copyfile("/etc/resolv.conf", resolv)
    # Trust what this machine trusts: where a proxy inspects TLS (as on CI's network),
    # pip inside the chroot must know its CA, like any host behind that proxy.
    extra_cas = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    if extra_cas:
        for ca in extra_cas:
            shutil.copyfile(ca, dest / "usr/local/share/ca-certificates" / ca.name)
        _run(["chroot", dest, "update-ca-certificates"], "update-ca-certificates in the chroot")
    return dest


def run_in(root: Path, *argv: str, user: str | None = None, env: dict[str, str] | None = None,
           check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a command inside the chroot, as root or as `user` (chroot --userspec)."""
    prefix = ["chroot"] + ([f"--userspec={user}:{user}"] if user else []) + [str(root)]
    command = ["/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "LANG=C.UTF-8", *(f"{k}={v}" for k, v in (env or {}).items()), *argv]
    result = subprocess.run(prefix + command, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} in {root} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def remove_chroot(root: Path) -> None:
    """Delete a test chroot, refusing if anything is still mounted under it."""
    with open("/proc/self/mounts") as mounts:
        mounted = [line.split()[1] for line in mounts if line.split()[1].startswith(str(root) + "/")]
    if mounted:
        raise RuntimeError(f"not removing {root}: still mounted: {mounted}")
    shutil.rmtree(root, ignore_errors=True)
