"""The container image as an administrator builds and runs it (marked ``container``; CI runs it once).

The base image is made here from Debian's packages with mmdebstrap (bookworm, python3, python3-venv,
ca-certificates, passwd) because this machine's podman cannot pull base images; it carries the host's
CA bundle so pip can reach PyPI through the site's TLS proxy, as a desk's own base image would. The
project's ``Dockerfile`` is then built with ``--build-arg BASE=…`` and smoke-tested:

- a piped ``helpdesk-bot chat`` in a new volume opens a ticket (the entrypoint runs ``init`` first);
- the default command (``helpdesk-bot run``) with the Telegram adapter pointed at the local fake Bot
  API answers a requester, serves ``/healthz``, ``/readyz`` and ``/metrics``, and stops cleanly on
  ``podman stop`` (SIGTERM) with its shutdown line.

About three minutes on a first run (the base image is kept for the next runs).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "telegram"))
from fake_telegram import TOKEN, FakeTelegram
from support import http_get

ROOT = Path(__file__).resolve().parent.parent
PODMAN = shutil.which("podman")
MMDEBSTRAP = shutil.which("mmdebstrap")
BASE_IMAGE = "localhost/helpdesk-test-base:bookworm"
IMAGE = "localhost/helpdesk-bot:test"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

pytestmark = [
    pytest.mark.container,
    pytest.mark.skipif(
        PODMAN is None or MMDEBSTRAP is None,
        reason="needs podman and mmdebstrap (Debian packages podman, mmdebstrap, runc; .ci/run installs them)",
    ),
]


def _podman(*args: str) -> list[str]:
    """``podman`` with the options this kind of host needs.

    Sandboxes without a pure cgroup v2 hierarchy and without CAP_SYS_RESOURCE cannot start containers
    with crun's defaults: runc with the cgroupfs manager and limits below the host's hard limits work.
    """
    assert PODMAN is not None
    command = [PODMAN]
    if shutil.which("runc"):
        command += ["--runtime", "runc", "--cgroup-manager", "cgroupfs"]
    return [*command, *args]


def _run(args: list[str], stdin: str | None = None, timeout: float = 900) -> str:
    done = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


RUN_OPTIONS = ["--rm", "--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000"]


@pytest.fixture(scope="module")
def image() -> str:
    """The project's image, built from this checkout on a Debian base made with mmdebstrap."""
    if subprocess.run(_podman("image", "exists", BASE_IMAGE)).returncode != 0:
        assert MMDEBSTRAP is not None
        hooks = []
        if HOST_CA_BUNDLE.exists():
            hooks = [f"--customize-hook=copy-in {HOST_CA_BUNDLE} /etc/ssl/certs/"]
        rootfs = subprocess.Popen(
            [
                MMDEBSTRAP,
                "--variant=apt",
                "--include=python3,python3-venv,ca-certificates,passwd",
                *hooks,
                "bookworm",
                "-",
                "http://deb.debian.org/debian",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        imported = subprocess.run(
            _podman(
                "import",
                "--change",
                f"ENV PIP_CERT={HOST_CA_BUNDLE}",
                "--change",
                f"ENV SSL_CERT_FILE={HOST_CA_BUNDLE}",
                "-",
                BASE_IMAGE,
            ),
            stdin=rootfs.stdout,
            capture_output=True,
            timeout=900,
        )
        assert rootfs.stdout is not None
        rootfs.stdout.close()
        assert rootfs.wait(timeout=900) == 0 and imported.returncode == 0, imported.stderr
    _run(
        _podman(
            "build",
            "--isolation=chroot",
            "--network=host",
            "--build-arg",
            f"BASE={BASE_IMAGE}",
            "-t",
            IMAGE,
            str(ROOT),
        )
    )
    return IMAGE


def test_a_piped_chat_in_the_container_opens_a_ticket(image: str) -> None:
    answers = "\n".join(
        [
            "/new",
            "L'imprimante du 2e étage imprime des pages blanches",
            "Depuis ce matin toutes les impressions sortent vides, même après redémarrage.",
            *["1"] * 5,  # no error message, no URL, and the first choice for start, who and impact
            "3",  # change the phone number
            "0470 12 34 56",
            "1",  # contact details correct
            "1",  # open the ticket
            "",
        ]
    )
    chat = _run(_podman("run", "-i", *RUN_OPTIONS, image, "helpdesk-bot", "chat", "--user", "alice"), stdin=answers)
    assert "Votre ticket #1 est ouvert" in chat, chat
    assert "Traceback" not in chat


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_default_command_runs_the_bot_with_health_endpoints_and_stops_on_sigterm(image: str) -> None:
    fake = FakeTelegram()
    await fake.start()
    ops_port = _free_port()
    name = f"helpdesk-smoke-{uuid.uuid4().hex[:8]}"
    environment = {
        "HELPDESK_TELEGRAM__ENABLED": "true",
        "HELPDESK_TELEGRAM__BASE_URL": fake.base_url,
        "HELPDESK_TELEGRAM__POLLING_TIMEOUT": "1",
        "HELPDESK_TELEGRAM__TECHNICIANS_FORUM": "false",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "HELPDESK_OPS__HOST": "127.0.0.1",
        "HELPDESK_OPS__PORT": str(ops_port),
    }
    options = [item for key, value in environment.items() for item in ("-e", f"{key}={value}")]
    bot = await asyncio.create_subprocess_exec(
        *_podman("run", *RUN_OPTIONS, "--name", name, *options, image),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await fake.wait_for_calls("getUpdates", timeout=120)
        fake.push_update(
            {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "from": {"id": 4242, "is_bot": False, "first_name": "Alice", "language_code": "fr"},
                    "chat": {"id": 4242, "first_name": "Alice", "type": "private"},
                    "date": 1569518342,
                    "text": "/start",
                    "entities": [{"offset": 0, "length": 6, "type": "bot_command"}],
                },
            }
        )
        (greeting,) = await fake.wait_for_calls("sendMessage", timeout=60)
        assert greeting.params["chat_id"] == 4242

        health = await asyncio.to_thread(http_get, f"http://127.0.0.1:{ops_port}/healthz")
        ready = await asyncio.to_thread(http_get, f"http://127.0.0.1:{ops_port}/readyz")
        metrics = await asyncio.to_thread(http_get, f"http://127.0.0.1:{ops_port}/metrics")
        assert health[0] == 200
        assert ready[0] == 200, ready[1]
        assert metrics[0] == 200 and "helpdesk_events_handled_total" in metrics[1]

        await asyncio.to_thread(_run, _podman("stop", "--time", "20", name), None, 60)
        output, _ = await asyncio.wait_for(bot.communicate(), timeout=60)
        log = output.decode(errors="replace")
        assert bot.returncode == 0, log
        assert "started: config /desk/bot.toml, adapters telegram" in log
        assert "helpdesk-bot stopped in" in log
        assert "Traceback" not in log
    finally:
        if bot.returncode is None:
            subprocess.run(_podman("rm", "--force", name), capture_output=True)
            await bot.wait()
        await fake.stop()
