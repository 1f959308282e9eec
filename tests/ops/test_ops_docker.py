"""The Docker image without a Docker engine: read the Dockerfile, assemble its build context from
.dockerignore, and run its command lines (CMD, HEALTHCHECK, and compose's worker command) from that copy
with this virtualenv's Python, which holds the same pinned requirements the image installs."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import signal
import subprocess
import time
from importlib import metadata
from pathlib import Path

import pytest
import requests
import yaml
from ops_helpers import ROOT, VENV_BIN, app_environment, demo_link_token, form_fields, free_port, stop_process

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of the Dockerfile, continuation lines joined, comments dropped."""
    joined, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    result = []
    for line in joined:
        keyword, _, arguments = line.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def exec_form(arguments: str) -> list[str]:
    assert arguments.startswith("["), f"not in exec form: {arguments}"
    return json.loads(arguments)


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in instructions():
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def build_context(destination: Path) -> Path:
    """Copy what `COPY . .` would copy: the repository minus .dockerignore's patterns."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip()[:1] not in ("", "#")
    ]

    def ignored(relative: str) -> bool:
        verdict = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            pattern = pattern.lstrip("!").rstrip("/")
            parts = relative.split("/")
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
            if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes) or (
                pattern.startswith("**/") and any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
            ):
                verdict = not negate
        return verdict

    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        if path.is_file() and not ignored(relative):
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return destination


def test_dockerfile_shape() -> None:
    steps = instructions()
    keywords = [keyword for keyword, _ in steps]
    assert steps[0][0] == "FROM" and re.fullmatch(r"python:3\.11-slim(-\w+)?", steps[0][1])
    copies = [arguments for keyword, arguments in steps if keyword == "COPY"]
    installs = [i for i, (k, a) in enumerate(steps) if k == "RUN" and "pip install" in a]
    assert copies[0].split()[0] == "requirements.txt"
    code_copy = next(i for i, (k, a) in enumerate(steps) if k == "COPY" and a.split()[0] == ".")
    assert installs and installs[0] < code_copy, "dependencies must be a layer of their own, before the code"
    assert "requirements-dev" not in DOCKERFILE.read_text()
    user = [arguments for keyword, arguments in steps if keyword == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
    healthcheck = next(arguments for keyword, arguments in steps if keyword == "HEALTHCHECK")
    assert "curl" not in healthcheck and "wget" not in healthcheck
    assert exec_form(healthcheck.split(" CMD ", 1)[1])[0] == "python"
    assert exec_form(next(a for k, a in steps if k == "CMD"))[:1] == ["gunicorn"]


def test_the_image_installs_exactly_what_this_virtualenv_runs() -> None:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        assert version, f"{line} is not pinned"
        assert metadata.version(re.sub(r"\[.*\]", "", name)) == version, name


def compose_worker_command() -> list[str]:
    text = (ROOT / "compose.yaml").read_text()
    worker = text.split("\n  worker:", 1)[1]
    return json.loads(re.search(r"^\s+command:\s*(\[.*\])\s*$", worker, re.MULTILINE).group(1))


def resolve(command: list[str]) -> list[str]:
    """The image's PATH holds python, gunicorn and flask; here they are this virtualenv's."""
    program = VENV_BIN / command[0]
    assert program.exists(), command[0]
    return [str(program), *command[1:]]


@pytest.mark.slow
def test_image_commands_serve_answer_the_healthcheck_and_drain_the_journal(emulator, tmp_path) -> None:
    context = build_context(tmp_path / "app")
    for needed in ("wsgi.py", "gunicorn.conf.py", "config.py", "app/ops/__init__.py", "templates/base.html"):
        assert (context / needed).is_file(), f"{needed} is missing from the image"
    assert list(context.glob("translations/*/LC_MESSAGES/messages.mo")), "compiled catalogs are missing"
    for absent in ("tests", ".venv", ".git", "requirements-dev.txt", "instance"):
        assert not (context / absent).exists(), f"{absent} would be in the image"

    port = free_port()
    env = {
        **app_environment(emulator, tmp_path),
        **image_env(),
        "PORT": str(port),
        "GUNICORN_BIND": f"127.0.0.1:{port}",  # the image binds 0.0.0.0:$PORT; tests stay on loopback
        "WEB_CONCURRENCY": "1",
        "SCRIPT_NAME": "/preferences",
        "DELIVERY_BACKOFF_BASE_SECONDS": "0.1",
        "WORKER_POLL_SECONDS": "0.2",
    }
    steps = instructions()
    web_command = resolve(exec_form(next(a for k, a in steps if k == "CMD")))
    health_command = resolve(exec_form(next(a for k, a in steps if k == "HEALTHCHECK").split(" CMD ", 1)[1]))
    log = (tmp_path / "web.log").open("w")
    web = subprocess.Popen(web_command, cwd=context, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    base = f"http://127.0.0.1:{port}/preferences"
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(health_command, cwd=context, env=env, capture_output=True).returncode != 0:
            assert web.poll() is None, (tmp_path / "web.log").read_text()
            assert time.monotonic() < deadline, "HEALTHCHECK never passed"
            time.sleep(0.2)

        # An unsubscribe while Marketing Cloud is down stays pending ...
        emulator.faults(error_rate=1.0, errors=["outage"])
        page = requests.get(f"{base}/unsubscribe?t={demo_link_token(19)}", timeout=5)
        action, fields = form_fields(page.text)
        assert action.startswith("/preferences/unsubscribe")
        assert requests.post(f"http://127.0.0.1:{port}{action}", data=fields, timeout=10).status_code == 200
        assert emulator.events() == []
        emulator.faults()
        # ... and the worker, started with compose's command line from the same files, delivers it.
        worker = subprocess.Popen(
            resolve(compose_worker_command()),
            cwd=context,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 15
            while not emulator.events():
                assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else ""
                assert time.monotonic() < deadline, "the worker did not deliver"
                time.sleep(0.2)
            assert [event["subscriber_key"] for event in emulator.events()] == ["demo-019"]
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=15) == 0, "the worker must stop cleanly on SIGTERM"
        finally:
            stop_process(worker)
    finally:
        stop_process(web)
    failed = subprocess.run(health_command, cwd=context, env=env, capture_output=True)
    assert failed.returncode != 0, "the HEALTHCHECK must fail when nothing answers"
    assert "Traceback" not in (tmp_path / "web.log").read_text()


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def runs_gunicorn(service: dict) -> bool:
    """A service of our image with the image's default command: gunicorn."""
    return service.get("image", "").startswith("profile-center") and "command" not in service


def test_compose_publishes_nginx_and_never_gunicorn() -> None:
    """Slow clients stall a gunicorn that visitors reach: compose lets them reach only nginx."""
    services = compose()["services"]
    web = [name for name, service in services.items() if runs_gunicorn(service)]
    assert web == ["app"]
    assert "ports" not in services["app"], "the app's gunicorn must not be published; nginx is"
    for name, service in services.items():
        if name != "nginx":
            for mapping in service.get("ports", []):
                assert str(mapping).startswith("127.0.0.1:"), f"{name} publishes {mapping} beyond loopback"
    nginx = services["nginx"]
    assert nginx["image"].startswith("nginx:")
    [published] = nginx["ports"]
    conf_mount = next(v for v in nginx["volumes"] if v.split(":")[1] == "/etc/nginx/nginx.conf")
    conf = ROOT / conf_mount.split(":")[0]
    assert conf == ROOT / "deploy" / "nginx" / "container-nginx.conf", conf_mount
    text = conf.read_text()
    assert published.split(":")[-1] == re.search(r"^\s*listen (\d+);", text, re.MULTILINE).group(1)
    # The included locations file is mounted where the conf includes it, and points at the app service.
    include = re.search(r"^\s*include (\S+);", text, re.MULTILINE).group(1)
    mounts = {v.split(":")[1]: ROOT / v.split(":")[0] for v in nginx["volumes"]}
    assert mounts[include] == ROOT / "deploy" / "nginx" / "profile-center-locations.conf"
    assert all(v.endswith(":ro") for v in nginx["volumes"])
    upstream = re.search(r"^\s*server (\S+):(\d+)\b", text, re.MULTILINE)
    assert upstream.group(1) == "app" and upstream.group(2) == str(image_env()["PORT"])
    assert nginx["depends_on"]["app"]["condition"] == "service_healthy"
    # The app trusts exactly that one proxy (client address for rate limits) and knows its public prefix.
    env = services["app"]["environment"]
    assert re.fullmatch(r"\$\{TRUSTED_PROXIES:-1\}", env["TRUSTED_PROXIES"])
    assert env["PUBLIC_BASE_URL"].endswith(f":{published.split(':')[0]}/preferences}}")


def test_no_documented_docker_command_publishes_gunicorn() -> None:
    """The README's and the Dockerfile's `docker run` lines publish a port only for nginx."""
    text = (ROOT / "README.md").read_text() + "\n" + DOCKERFILE.read_text()
    lines = [line.strip().lstrip("#").strip() for line in text.replace("\\\n", " ").splitlines()]
    runs = [line for line in lines if line.startswith("docker run")]
    assert len(runs) >= 4, runs
    for line in runs:
        if re.search(r"\s(-p|--publish)[\s=]", line):
            assert re.search(r"\snginx:\S+", line), f"publishes the app's gunicorn: {line}"
    # The documented nginx container mounts the shipped files where container-nginx.conf expects them.
    [nginx_run] = [line for line in runs if re.search(r"\snginx:\S+", line)]
    mounts = dict(m.split(":")[:2] for m in re.findall(r'-v "\$PWD/([^"]+)"', nginx_run))
    conf = (ROOT / "deploy" / "nginx" / "container-nginx.conf").read_text()
    include = re.search(r"^\s*include (\S+);", conf, re.MULTILINE).group(1)
    assert mounts == {
        "deploy/nginx/container-nginx.conf": "/etc/nginx/nginx.conf",
        "deploy/nginx/profile-center-locations.conf": include,
    }
    assert all((ROOT / source).is_file() for source in mounts)
    assert "--network-alias app" in next(line for line in runs if line.endswith(" profile-center"))
