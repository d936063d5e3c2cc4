"""The benchmark: press against Hugo (feeds) and Postfix's smtp-source (sending).

    python bench/run.py [--runs 3] [--sizes 1000,10000] [--subscribers 10000,100000]

Prints a table; each figure is the median of --runs runs, taken side by side in one
run. Needs Debian's hugo and postfix packages (smtp-sink and smtp-source; the Postfix
server itself is never started): `make bench` installs them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import generate

PRESS = str(Path(sys.executable).parent / "press")
ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak resident memory (MB) of one command."""
    start = time.perf_counter()
    process = subprocess.Popen(
        cmd,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    assert process.stderr is not None
    errors = process.stderr.read().decode()
    process.stderr.close()
    if status != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {errors}")
    return elapsed, usage.ru_maxrss // 1024


def row(label: str, *cells: object) -> None:
    print(f"| {label} | " + " | ".join(str(c) for c in cells) + " |", flush=True)


def cold_build(site: Path, outputs: list[str], command: list[str]) -> tuple[float, int]:
    for name in outputs:
        shutil.rmtree(site / name, ignore_errors=True)
    return run(command, site)


def publish_bench(sizes: list[int], runs: int, work: Path) -> None:
    print("\n## Publishing (feeds only, as the Hugo site: home + category RSS, 50 items)\n")
    row("posts", "press cold", "press peak", "hugo cold", "hugo peak", "press/hugo",
        "press cold, Atom + RSS + JSON (/hugo)", "nothing changed (/ import click)",
        "one post added", "cold with archive documents (/ without)",
        "cold with them and the digests' web archive")  # fmt: skip
    row(*["---"] * 11)
    # The floor of any Python command line: the interpreter starting and importing click.
    floor_command = [sys.executable, "-c", "import click"]
    for size in sizes:
        generate(size, work / f"corpus-{size}")
        press_site, hugo_site = work / f"corpus-{size}" / "press", work / f"corpus-{size}" / "hugo"
        toml = press_site / "press.toml"
        # The press defaults also publish each feed's archive documents (its whole
        # history, RFC 5005) and a web copy of every week's digest: no Hugo counterpart,
        # so they are off here and timed on their own in the last columns.
        archives = toml.read_text() + "\n[pages]\nenabled = false\n"
        (press_site / "archive.toml").write_text(archives)
        no_digests = "\n[newsletter]\narchive = false\n"
        (press_site / "archives.toml").write_text(archives + no_digests)
        settings = archives.replace("[feeds]\n", "[feeds]\narchives = false\n") + no_digests
        toml.write_text(settings)
        three = settings.replace('formats = ["rss"]', 'formats = ["atom", "rss", "json"]')
        (press_site / "three.toml").write_text(three)
        shutil.copytree(ROOT / "templates", press_site / "templates")

        cold, cold_peak, hugo, hugo_peak, all_three = [], 0, [], 0, []
        three_command = [PRESS, "--config", "three.toml", "publish"]
        for _ in range(runs):  # side by side, alternating
            seconds, peak = cold_build(press_site, ["public", "var"], [PRESS, "publish"])
            cold.append(seconds)
            cold_peak = max(cold_peak, peak)
            seconds, peak = cold_build(hugo_site, ["public", "resources"], ["hugo", "--quiet"])
            hugo.append(seconds)
            hugo_peak = max(hugo_peak, peak)
            all_three.append(cold_build(press_site, ["public", "var"], three_command)[0])
        press_median, hugo_median = statistics.median(cold), statistics.median(hugo)
        three_median = statistics.median(all_three)
        cold_build(press_site, ["public", "var"], [PRESS, "publish"])
        unchanged_runs, floor_runs = [], []
        for _ in range(runs):
            unchanged_runs.append(run([PRESS, "publish"], press_site)[0])
            floor_runs.append(run(floor_command, press_site)[0])
        unchanged, floor = statistics.median(unchanged_runs), statistics.median(floor_runs)
        added: list[float] = []
        for i in range(runs):
            (press_site / "posts" / f"zz-added-{i}.md").write_text(
                f'---\ntitle: "Added {i}"\ndate: 2025-01-0{i + 1}T09:00:00Z\n'
                'categories: ["China-Russia"]\n---\nA NEW POST with a paragraph.\n'
            )
            added.append(run([PRESS, "publish"], press_site)[0])
        one = statistics.median(added)
        in_run = float(
            subprocess.run(
                [sys.executable, "-c", IN_PRESS_RUN, str(runs)],
                cwd=press_site, check=True, capture_output=True, text=True,
            ).stdout
        )  # fmt: skip
        with_archives = [PRESS, "--config", "archives.toml", "publish"]
        documents = [cold_build(press_site, ["public", "var"], with_archives) for _ in range(runs)]
        documents_median = statistics.median(s for s, _ in documents)
        archive_command = [PRESS, "--config", "archive.toml", "publish"]
        archive = [cold_build(press_site, ["public", "var"], archive_command) for _ in range(runs)]
        row(
            size, f"{press_median:.2f} s", f"{cold_peak} MB", f"{hugo_median:.2f} s",
            f"{hugo_peak} MB", f"{press_median / hugo_median:.2f}",
            f"{three_median:.2f} s ({three_median / hugo_median:.2f})",
            f"{unchanged:.3f} s ({unchanged / floor:.1f}× {floor:.3f} s)",
            f"{one:.2f} s ({one / press_median:.0%}); in press run {in_run:.2f} s "
            f"({in_run / press_median:.0%})",
            f"{documents_median:.2f} s ({documents_median / press_median:.2f}), "
            f"{max(peak for _, peak in documents)} MB",
            f"{statistics.median(s for s, _ in archive):.2f} s, "
            f"{max(peak for _, peak in archive)} MB",
        )  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sending_project(
    work: Path, subscribers: int, port: int, connections: int, processes: int = 1
) -> Path:
    """The bundled site with a long week and ``subscribers`` confirmed subscribers."""
    project = work / f"send-{subscribers}-{processes}"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir()
    shutil.copytree(ROOT / "posts", project / "posts")
    shutil.copytree(ROOT / "templates", project / "templates")
    text = (ROOT / "press.toml").read_text().replace('content = "summary"', 'content = "full"')
    text += f'\n[smtp]\nurl = "smtp://127.0.0.1:{port}?starttls=no"\n'
    text += f"\n[delivery]\nconnections = {connections}\nprocesses = {processes}\nbatch = 1000\n"
    (project / "press.toml").write_text(text)
    emails = "\n".join(f"reader{i:06}@example.com" for i in range(subscribers))
    (project / "list.csv").write_text("email\n" + emails + "\n")
    run([PRESS, "subscribers", "import", "list.csv"], project)
    return project


def sending_bench(
    counts: list[int], runs: int, work: Path, processes: list[int], connections: int = 4
) -> None:
    """press sending a digest against ``smtp-source -d -s N`` (N = delivery.connections,
    each connection kept open for many messages, as press keeps its own) into the same
    smtp-sink, for each number of sending processes, runs alternating."""
    print(
        f"\n## Sending the 2022-W37 digest (full text), {connections} connections "
        f"(delivery.connections), smtp-sink; the reference: smtp-source -d -s {connections}\n"
    )
    port = free_port()
    sink = subprocess.Popen(
        ["smtp-sink", "-u", "postfix", f"127.0.0.1:{port}", "1024"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.5)
    env = {"PRESS_SECRET_KEY": "bench key, long enough to sign links with"}
    try:
        row("messages", "size", "processes", "press", "press peak", "smtp-source -d",
            "press/smtp-source")  # fmt: skip
        row(*["---"] * 7)
        for count in counts:
            projects = {n: sending_project(work, count, port, connections, n) for n in processes}
            project = projects[processes[0]]
            preview = project / "preview"
            run([PRESS, "digest", "--week", "2022-W37", "--preview", str(preview)], project, env)
            size = (preview / "digest.eml").stat().st_size
            source_command = [
                "smtp-source", "-d", "-s", str(connections), "-m", str(count), "-l", str(size),
                "-f", "digest@example.com", "-t", "reader@example.com", f"127.0.0.1:{port}",
            ]  # fmt: skip
            results: dict[int, list[tuple[float, int]]] = {n: [] for n in processes}
            source: list[float] = []
            for _ in range(runs):  # side by side
                source.append(run(source_command, work)[0])
                for n, project in projects.items():
                    shutil.rmtree(project / "var", ignore_errors=True)
                    run([PRESS, "subscribers", "import", "list.csv"], project)
                    command = [PRESS, "digest", "--week", "2022-W37", "--send"]
                    results[n].append(run(command, project, env))
            reference = statistics.median(source)
            for n in processes:
                press_seconds = statistics.median(r[0] for r in results[n])
                row(
                    count, f"{size // 1024} KB", n, f"{count / press_seconds:.0f}/s",
                    f"{max(r[1] for r in results[n])} MB", f"{count / reference:.0f}/s",
                    f"{reference / press_seconds:.2f}",
                )  # fmt: skip
    finally:
        sink.terminate()
        sink.wait()


IN_PRESS_RUN = """
import statistics, sys, time
from pathlib import Path
from press.config import load_config
from press.schedule import Publisher, snapshot
config = load_config(Path("press.toml"))
publisher, times = Publisher(config), []
for i in range(int(sys.argv[1]) + 1):  # the first loads the cache from var/: not counted
    Path(f"posts/zz-in-run-{i}.md").write_text(
        f'---\\ntitle: "In run {i}"\\ndate: 2025-02-0{i + 1}T09:00:00Z\\n'
        'categories: ["China-Russia"]\\n---\\nA NEW POST with a paragraph.\\n'
    )
    current = snapshot(config)  # press run's watcher sees the new file
    start = time.perf_counter()
    publisher("posts changed", current.posts)
    times.append(time.perf_counter() - start)
print(statistics.median(times[1:]))
"""


RENDER = """
import os, sys, time
from datetime import UTC, datetime
from pathlib import Path
from press.config import load_config
from press.digest import prepare, recipient_for
from press.send import real_signer
config = load_config(Path("press.toml"), os.environ)
count = int(sys.argv[1])
start = time.perf_counter()
run, _ = prepare(config, "2022-W37", None, datetime.now(UTC))
signer = real_signer(config)
size = 0
for i in range(count):
    data, _ = run.compose(recipient_for(config, signer, f"reader{i:06}@example.com", i))
    size += len(data)
print(time.perf_counter() - start, size // count)
"""


def render_bench(counts: list[int], runs: int, work: Path) -> None:
    """Rendering one digest for N subscribers: every message made, none sent."""
    print("\n## Rendering the 2022-W37 digest (full text) for N subscribers\n")
    row("subscribers", "seconds", "messages/s", "size", "peak")
    row(*["---"] * 5)
    env = {"PRESS_SECRET_KEY": "bench key, long enough to sign links with"}
    project = sending_project(work, 1, free_port(), 4)
    for count in counts:
        results = []
        for _ in range(runs):
            out = project / "render.out"
            with out.open("w") as handle:
                process = subprocess.Popen(
                    [sys.executable, "-c", RENDER, str(count)],
                    cwd=project, stdout=handle, env={**os.environ, **env},
                )  # fmt: skip
                _, status, usage = os.wait4(process.pid, 0)
            if status != 0:
                raise RuntimeError("the render run failed")
            seconds, size = out.read_text().split()
            results.append((float(seconds), int(size), usage.ru_maxrss // 1024))
        seconds = statistics.median(r[0] for r in results)
        row(
            count, f"{seconds:.2f} s", f"{count / seconds:.0f}/s",
            f"{results[0][1] // 1024} KB", f"{max(r[2] for r in results)} MB",
        )  # fmt: skip


NEWSLETTERS = """
[newsletters.china-russia]
categories = ["China-Russia"]

[newsletters.asia]
title = "The weekly Asia digest"
categories = ["China-Russia", "China-U.S."]
choose_categories = true
"""

RENDER_READERS = """
import os, sys, time
from datetime import UTC, datetime
from pathlib import Path
from press.config import load_config
from press.digest import ReaderRuns, prepare, recipient_for
from press.mail import open_store
from press.send import real_signer
config = load_config(Path("press.toml"), os.environ)
newsletter, count = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
run, _ = prepare(config, "2022-W37", newsletter, datetime.now(UTC))
readers = ReaderRuns(run, open_store(config))
signer = real_signer(config)
for i in range(1, count + 1):
    readers.of(i).compose(recipient_for(config, signer, f"reader{i:06}@example.com", i))
print(time.perf_counter() - start)
"""


def newsletters_bench(count: int, runs: int, work: Path) -> None:
    """The single-category digest against a two-category newsletter whose readers narrow
    it, half of them (so two renderings a send): rendering and sending rates."""
    print(f"\n## Several newsletters: 2022-W37 to {count:,} readers, rendering and sending\n")
    port = free_port()
    sink = subprocess.Popen(
        ["smtp-sink", "-u", "postfix", f"127.0.0.1:{port}", "1024"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.5)
    env = {"PRESS_SECRET_KEY": "bench key, long enough to sign links with"}
    project = work / "newsletters"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir()
    shutil.copytree(ROOT / "posts", project / "posts")
    (project / "posts" / "2022-09-15-us.md").write_text(
        "---\ntitle: Washington Watches\ndate: 2022-09-15T10:00:00+01:00\n"
        "categories: [China-U.S.]\n---\n\n" + "A paragraph about the United States. " * 40 + "\n"
    )
    text = (ROOT / "press.toml").read_text().replace('content = "summary"', 'content = "full"')
    text = text.replace('category = "China-Russia"\n', "") + NEWSLETTERS
    text += f'\n[smtp]\nurl = "smtp://127.0.0.1:{port}?starttls=no"\n'
    text += "\n[delivery]\nconnections = 4\nprocesses = 1\nbatch = 1000\n"
    (project / "press.toml").write_text(text)
    half = count // 2
    rows = [f"reader{i:06}@example.com,china-russia;asia" for i in range(1, half + 1)]
    rows += [f"reader{i:06}@example.com,china-russia;asia:china-russia"
             for i in range(half + 1, count + 1)]  # fmt: skip
    (project / "list.csv").write_text("email,newsletters\n" + "\n".join(rows) + "\n")
    row("newsletter", "render", "per second", "send", "per second", "peak")
    row(*["---"] * 6)
    try:
        for newsletter in ("china-russia", "asia"):
            renders, sends, peak = [], [], 0
            for _ in range(runs):
                shutil.rmtree(project / "var", ignore_errors=True)
                run([PRESS, "subscribers", "import", "list.csv"], project)
                out = project / "render.out"
                with out.open("w") as handle:
                    process = subprocess.Popen(
                        [sys.executable, "-c", RENDER_READERS, newsletter, str(count)],
                        cwd=project, stdout=handle, env={**os.environ, **env},
                    )  # fmt: skip
                    _, status, _ = os.wait4(process.pid, 0)
                if status != 0:
                    raise RuntimeError("the render run failed")
                renders.append(float(out.read_text()))
                command = [PRESS, "digest", "--newsletter", newsletter, "--week", "2022-W37"]
                seconds, memory = run([*command, "--send"], project, env)
                sends.append(seconds)
                peak = max(peak, memory)
            render, send = statistics.median(renders), statistics.median(sends)
            label = "China-Russia" if newsletter == "china-russia" else "Asia, half narrowed"
            row(label, f"{render:.2f} s", f"{count / render:,.0f}", f"{send:.2f} s",
                f"{count / send:,.0f}", f"{peak} MB")  # fmt: skip
    finally:
        sink.terminate()
        sink.wait()


def workers_bench(workers: list[int], messages: int, work: Path, postgres: str) -> None:
    """Messages a second with 1, 2, 4 … workers sharing one digest through PostgreSQL."""
    import uuid

    import psycopg

    print(f"\n## Delivery workers through PostgreSQL: {messages} messages to smtp-sink\n")
    row("workers", "seconds", "messages/s")
    row(*["---"] * 3)
    port = free_port()
    sink = subprocess.Popen(
        ["smtp-sink", "-u", "postfix", f"127.0.0.1:{port}", "1024"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    conninfo = postgres.replace("postgresql+psycopg://", "postgresql://")
    env = {"PRESS_SECRET_KEY": "bench key, long enough to sign links with"}
    try:
        for count in workers:
            schema = f"press_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(conninfo, autocommit=True) as connection:
                connection.execute(f'CREATE SCHEMA "{schema}"')
            try:
                project = sending_project(work, messages, port, 4)
                toml = project / "press.toml"
                url = f"{postgres}?options=-csearch_path%3D{schema}"
                toml.write_text(toml.read_text() + f'\n[storage]\nurl = "{url}"\n')
                run([PRESS, "subscribers", "import", "list.csv"], project)
                run([PRESS, "digest", "--week", "2022-W37", "--send", "--queue-only"], project, env)
                start = time.perf_counter()
                procs = [
                    subprocess.Popen(
                        [PRESS, "deliver", "--worker", "--until-empty"],
                        cwd=project,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        env={**os.environ, **env},
                    )
                    for _ in range(count)
                ]
                for process in procs:
                    process.wait()
                seconds = time.perf_counter() - start
                row(count, f"{seconds:.1f}", f"{messages / seconds:.0f}")
            finally:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        sink.terminate()
        sink.wait()


BOUNCE_KEY = "bench secret key, long enough to sign with"


def bounce_site(site: Path, count: int) -> Path:
    """A site that has sent the W37 digest to ``count`` readers, and a Maildir of a bounce
    for each delivery: a third hard (RFC 3464), a third soft, a third auto-replies."""
    import mailbox

    from sqlalchemy import create_engine, text

    sys.path.insert(0, str(ROOT))
    from newsletter.tokens import Signer
    from newsletter.verp import return_path

    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(ROOT / "posts", site / "posts")
    shutil.copy(ROOT / "press.toml", site / "press.toml")
    env = {"PRESS_SECRET_KEY": BOUNCE_KEY}
    emails = "email\n" + "".join(f"reader{n:06}@example.com\n" for n in range(count))
    (site / "readers.csv").write_text(emails)
    run([PRESS, "subscribers", "import", "readers.csv"], site, env)
    run([PRESS, "digest", "--week", "2022-W37", "--send", "--queue-only"], site, env)
    engine = create_engine(f"sqlite:///{site / 'var' / 'press.db'}")
    with engine.connect() as connection:
        ids = connection.execute(text("SELECT id FROM deliveries ORDER BY id")).scalars().all()
    engine.dispose()
    signer, pattern = Signer(BOUNCE_KEY), "bounces+{token}@chinabystander.com"
    corpus = ROOT / "tests" / "data" / "bounces"
    kinds = [(corpus / n).read_text() for n in ("postfix-hard.eml", "yahoo-soft.eml",
                                                  "vacation.eml")]  # fmt: skip
    box = mailbox.Maildir(str(site / "Maildir"), create=True)
    for n, delivery in enumerate(ids):
        text = kinds[n % 3].replace("__RETURN_PATH__", return_path(pattern, signer, delivery))
        text = text.replace("__MESSAGE_ID__", f"<{n}@bench>")
        text = text.replace("Message-I", f"X-Bench: {n}\nMessage-I", 1)
        box.add(text.replace("<bounce-", f"<bounce-{n}-").replace("<2022", f"<{n}.2022")
                .replace("<vacation-", f"<vacation-{n}-").encode())  # fmt: skip
    box.close()
    return site


def bounces_bench(count: int, runs: int, work: Path) -> None:
    """``press bounces read`` on a Maildir of ``count`` messages for real deliveries, then
    read again (every one handled before); then once killed half-way and read again,
    which must leave one row a message."""
    import sqlite3

    print(f"\n## Bounce handling (press bounces read, a Maildir of {count:,}, SQLite)\n")
    row("messages", "first read", "per second", "peak", "read again", "per second")
    row(*["---"] * 6)
    env = {"PRESS_SECRET_KEY": BOUNCE_KEY}
    firsts, agains, peak = [], [], 0
    for run_number in range(runs):
        site = bounce_site(work / f"bounces-{run_number}", count)
        seconds, memory = run([PRESS, "bounces", "read", "Maildir"], site, env)
        firsts.append(seconds)
        peak = max(peak, memory)
        agains.append(run([PRESS, "bounces", "read", "Maildir"], site, env)[0])
    first, again = statistics.median(firsts), statistics.median(agains)
    row(f"{count:,}", f"{first:.1f} s", f"{count / first:,.0f}", f"{peak} MB", f"{again:.1f} s",
        f"{count / again:,.0f}")  # fmt: skip

    site = bounce_site(work / "bounces-killed", count)
    half = count // 2
    killed = subprocess.run(
        [PRESS, "bounces", "read", "Maildir"], cwd=site, capture_output=True,
        env={**os.environ, **env, "PRESS_KILL_AT": f"bounces:handled@{half}"},
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    seconds, _ = run([PRESS, "bounces", "read", "Maildir"], site, env)
    with sqlite3.connect(site / "var" / "press.db") as connection:
        rows, keys = connection.execute(
            "SELECT count(*), count(DISTINCT key_hash) FROM bounce_events"
        ).fetchone()
    assert rows == keys == count, f"{rows} rows for {count} messages"
    print(f"\nKilled (SIGKILL) after message {half:,}, then read again in {seconds:.1f} s: "
          f"{rows:,} messages handled, each once.")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--subscribers", default="10000,100000")
    parser.add_argument(
        "--skip", default="", help="publish, render, send, workers, bounces or newsletters"
    )
    parser.add_argument("--render", default="10000", help="subscribers to render for")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument(
        "--processes", default="1,2", help="delivery.processes to send with, each measured"
    )
    parser.add_argument("--worker-messages", type=int, default=20_000)
    parser.add_argument("--bounces", type=int, default=10_000, help="messages to read back")
    parser.add_argument("--newsletter-readers", type=int, default=10_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    options = parser.parse_args()
    missing = [tool for tool in ("hugo", "smtp-sink", "smtp-source") if not shutil.which(tool)]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: apt-get install hugo postfix (or make bench)")
    # Byte-compiled, as an installed press is (an editable install under
    # PYTHONDONTWRITEBYTECODE would compile every module on every run).
    packages = [str(ROOT / name) for name in ("feeds", "newsletter", "press")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True)
    with tempfile.TemporaryDirectory(prefix="press-bench-") as folder:
        work = Path(folder)
        print(f"press bench: {os.cpu_count()} cores, medians of {options.runs} runs")
        if "publish" not in options.skip:
            publish_bench([int(n) for n in options.sizes.split(",")], options.runs, work)
        if "render" not in options.skip:
            render_bench([int(n) for n in options.render.split(",")], options.runs, work)
        if "send" not in options.skip:
            counts = [int(n) for n in options.subscribers.split(",")]
            processes = [int(n) for n in options.processes.split(",")]
            sending_bench(counts, options.runs, work, processes)
        if "workers" not in options.skip:
            counts = [int(n) for n in options.workers.split(",")]
            workers_bench(counts, options.worker_messages, work, options.postgres)
        if "bounces" not in options.skip:
            bounces_bench(options.bounces, options.runs, work)
        if "newsletters" not in options.skip:
            newsletters_bench(options.newsletter_readers, options.runs, work)


if __name__ == "__main__":
    main()
