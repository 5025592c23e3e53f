"""`ml-clusters sandbox` refuses bad input with one line naming the cause, before starting anything."""

from __future__ import annotations

import socket

from typer.testing import CliRunner

from ml_clusters.cli import app

runner = CliRunner()


def test_a_live_dir_without_units_is_one_line_error(tmp_path):
    result = runner.invoke(
        app, ["sandbox", "--live-dir", str(tmp_path / "missing"), "--home", str(tmp_path / "home"), "--port", "0"]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "missing" in errors[0]
    assert not (tmp_path / "home" / "emulator").exists()


def test_a_busy_port_is_refused_naming_the_port(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["sandbox", "--port", str(port), "--home", str(tmp_path / "home")])
    assert result.exit_code == 2
    assert f"port {port}" in result.output and "in use" in result.output


def test_a_home_that_is_not_a_sandbox_home_is_never_wiped(tmp_path):
    home = tmp_path / "precious"
    home.mkdir()
    (home / "notes.txt").write_text("keep me")
    result = runner.invoke(app, ["sandbox", "--home", str(home), "--port", "0"])
    assert result.exit_code == 1
    assert "refusing to wipe" in result.output
    assert (home / "notes.txt").read_text() == "keep me"
