"""The README's "Your first hour" guide, run as written, on a fresh database.

The ``sh`` block of that section is read from README.md and each command is run by a small
interpreter of the shell it uses: ``NAME=value`` and ``NAME=$(pipeline)``, ``$NAME`` and
``${NAME%%pattern}`` / ``${NAME#pattern}``, pipelines of ``python manage.py`` (``call_command``) or
``curl`` (Django's test client: ``-H``, ``-d``, ``-u``, ``-o /dev/null``, ``-w '%header{...}'``) into
``tee FILE``, ``sed -n 's/RE/TEXT/p'`` and ``jq [-r] PATH`` (``.``, ``.a``, ``[n]``); files live in a
dictionary. A curl answering 4xx or 5xx fails the test, as ``curl -f`` would, naming the command.
Each request commits as a server's would (on-commit work such as footprints and capture jobs runs).
Then the test checks what the guide promises: the site, the objects and their custody, the
footprint, the captured event and the PACT footprints.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from traceability.models import EpcisEvent, Site, TraceableObject

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Your first hour"


def guide_commands() -> list[str]:
    """The guide's commands: the first ``sh`` block after its heading, one entry per command
    (continuation lines and quoted text over several lines joined), comments left out."""
    text = README.read_text()
    section = text[text.index(SECTION) :]
    block = section[section.index("```sh\n") + len("```sh\n") :]
    block = block[: block.index("\n```")]
    commands, pending = [], ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = f"{pending}\n{line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        try:
            shlex.split(pending)
        except ValueError:  # a quotation open over the line's end
            continue
        commands.append(pending)
        pending = ""
    assert not pending, pending
    return commands


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]


@dataclass
class Shell:
    client: Client
    capture_on_commit: object
    variables: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    answers: list[tuple[str, Answer]] = field(default_factory=list)

    # --- words ------------------------------------------------------------------------------
    def expand(self, word: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match["braced"] or match["plain"]
            value = self.variables[name]
            operator, pattern = match["operator"], match["pattern"]
            if operator == "%%":  # the longest suffix matching the pattern removed
                for cut in range(len(value) + 1):
                    if fnmatch.fnmatchcase(value[cut:], pattern):
                        return value[:cut]
            if operator == "#":  # the shortest prefix matching the pattern removed
                for cut in range(len(value) + 1):
                    if fnmatch.fnmatchcase(value[:cut], pattern):
                        return value[cut:]
            return value

        return re.sub(r"\$\{(?P<braced>\w+)(?:(?P<operator>%%|#)(?P<pattern>[^}]*))?\}|\$(?P<plain>\w+)", one, word)

    def words(self, text: str) -> list[str]:
        return [self.expand(word) for word in shlex.split(text)]

    # --- commands ---------------------------------------------------------------------------
    def run(self, command: str) -> None:
        assigned = re.fullmatch(r"(\w+)=\$\((.*)\)", command.strip(), re.S)
        if assigned:
            self.variables[assigned[1]] = self.pipeline(assigned[2]).strip()
        elif re.fullmatch(r"\w+=\S.*", command.strip(), re.S) and "$(" not in command:
            name, _, value = command.strip().partition("=")
            (self.variables[name],) = self.words(value)
        else:
            self.pipeline(command)

    def pipeline(self, text: str) -> str:
        stages = re.split(r"\s\|\s", text)
        output = self.source(self.words(stages[0]), command=text)
        for stage in stages[1:]:
            output = self.filter(self.words(stage), output)
        return output

    def source(self, argv: list[str], *, command: str) -> str:
        if argv[:2] == ["python", "manage.py"]:
            out = StringIO()
            with self.capture_on_commit(execute=True):
                call_command(*argv[2:], stdout=out)
            return out.getvalue()
        if argv[0] == "curl":
            return self.curl(argv[1:], command=command)
        if argv[0] == "jq":
            return self.filter(argv[:-1], self.files[argv[-1]])
        raise AssertionError(f"the guide runs {argv[0]!r}, which this interpreter does not know")

    def filter(self, argv: list[str], text: str) -> str:
        if argv[0] == "tee":
            self.files[argv[1]] = text
            return text
        if argv[:2] == ["sed", "-n"]:
            pattern, replacement = re.fullmatch(r"s/(.*)/(.*)/p", argv[2]).groups()  # type: ignore[union-attr]
            return "".join(
                re.sub(pattern, replacement, line) + "\n" for line in text.splitlines() if re.search(pattern, line)
            )
        if argv[0] == "jq":
            raw = argv[1] == "-r"
            value = json.loads(text)
            for key, index in re.findall(r"\.(\w+)|\[(\d+)\]", argv[-1]):
                value = value[key] if key else value[int(index)]
            return value if raw and isinstance(value, str) else json.dumps(value)
        raise AssertionError(f"the guide pipes into {argv[0]!r}, which this interpreter does not know")

    def curl(self, argv: list[str], *, command: str) -> str:
        headers: dict[str, str] = {}
        data: list[str] = []
        write_out, discard, url = "", False, ""
        options = iter(argv)
        for option in options:
            if option == "-s":
                continue
            if option == "-H":
                name, _, value = next(options).partition(":")
                headers[name.strip()] = value.strip()
            elif option == "-d":
                data.append(next(options))
            elif option == "-u":
                headers["Authorization"] = "Basic " + base64.b64encode(next(options).encode()).decode()
            elif option == "-o":
                discard = next(options) == "/dev/null"
            elif option == "-w":
                write_out = next(options)
            elif option.startswith("-"):
                raise AssertionError(f"curl option {option} is not known here")
            else:
                url = option
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        content_type = meta.pop("HTTP_CONTENT_TYPE", "application/x-www-form-urlencoded")
        with self.capture_on_commit(execute=True):
            if data:
                response = self.client.post(path, "&".join(data), content_type=content_type, secure=True, **meta)
            else:
                response = self.client.get(path, secure=True, **meta)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        answer = Answer(response.status_code, body.decode(), {k.lower(): v for k, v in response.headers.items()})
        self.answers.append((command, answer))
        assert answer.status < 400, (command, answer.status, answer.text[:500])
        printed = "" if discard else answer.text
        if write_out:
            printed += re.sub(r"%header\{([\w-]+)\}", lambda m: answer.headers.get(m[1].lower(), ""), write_out)
        return printed


def test_the_first_hour_guide_runs_as_written_from_a_fresh_database(client, django_capture_on_commit_callbacks):
    # given: a fresh database (nothing but what migrations load)
    assert not Site.objects.exists() and not TraceableObject.objects.exists()
    shell = Shell(client=client, capture_on_commit=django_capture_on_commit_callbacks)

    # when: every command of the guide, in order
    commands = guide_commands()
    for command in commands:
        shell.run(command)

    # then: each step did what the guide says
    variables = shell.variables
    assert re.fullmatch(r"[0-9a-f]+\.\S+", variables["API_KEY"])
    site = Site.objects.get(pk=int(variables["SITE"]))
    assert (site.organisation.slug, site.name, site.country) == ("autocirc", "Leipzig yard", "DE")
    vehicle = TraceableObject.objects.get(identifier=variables["VEHICLE"])
    assert (vehicle.kind, vehicle.created_by.slug, vehicle.label) == ("vehicle", "autocirc", "LSGKB54H8KV000001")
    pack = TraceableObject.objects.get(identifier=variables["PACK"])
    assert pack.kind == "battery_pack" and pack.custodian.slug == "autocirc"
    wheels = TraceableObject.objects.filter(identifier__in=[variables["WHEEL_1"], variables["WHEEL_2"]])
    assert {(w.kind, w.custodian.slug) for w in wheels} == {("part", "nordic-remelt")}
    footprint = next(json.loads(a.text) for c, a in shell.answers if "/footprint?" in c)
    assert footprint and footprint[0]["totalKg"] > 0
    genealogy = next(json.loads(a.text) for c, a in shell.answers if "/genealogy" in c)
    assert variables["VEHICLE"] in {node["identifier"] for node in genealogy["nodes"]}
    job = next(json.loads(a.text) for c, a in shell.answers if "$BASE$JOB" in c)
    assert job["running"] is False and job["success"] is True, job
    assert EpcisEvent.objects.filter(organisation__slug="autocirc", biz_step__endswith="inspecting").exists()
    events = next(json.loads(a.text) for c, a in shell.answers if "MATCH_anyEPC" in c)
    assert any(
        e.get("bizStep") == "inspecting" for e in events["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    )
    footprints = json.loads(shell.answers[-1][1].text)["data"]
    assert variables["PACK"] in {pid for document in footprints for pid in document["productIds"]}
