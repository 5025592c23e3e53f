"""`ml-clusters sandbox` refuses bad input with one line naming the cause, before starting anything."""

from __future__ import annotations

import socket

import pytest

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


def _one_error_line(result) -> str:
    assert "Traceback" not in result.output and "Usage:" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


@pytest.mark.parametrize("port, expected", [
    ("99999", "less than or equal to 65535"),
    ("-1", "greater than or equal to 0"),
    ("http", "Invalid value for '--port'"),
])
def test_a_port_out_of_range_is_one_line(tmp_path, port, expected):
    result = runner.invoke(app, ["sandbox", "--port", port, "--home", str(tmp_path / "home")])
    assert result.exit_code == 2
    assert expected in _one_error_line(result)
    assert not (tmp_path / "home").exists()  # nothing started, nothing written


@pytest.mark.parametrize("nested", [False, True])
def test_a_home_that_is_a_file_is_one_line(tmp_path, nested):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    home = a_file / "home" if nested else a_file
    result = runner.invoke(app, ["sandbox", "--home", str(home), "--port", "0"])
    assert result.exit_code == 2
    assert f"--home {home}: not a directory" in _one_error_line(result)
    assert a_file.read_text() == "keep me"


def test_an_unresolvable_host_is_named_not_blamed_on_the_port(tmp_path):
    result = runner.invoke(app, ["sandbox", "--host", "no.such.host.invalid", "--home", str(tmp_path / "home")])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "--host no.such.host.invalid: cannot resolve it" in line and "in use" not in line


def test_a_host_that_is_not_an_address_of_this_machine_is_named(tmp_path):
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never assigned to a local interface.
    result = runner.invoke(app, ["sandbox", "--host", "192.0.2.1", "--port", "0", "--home", str(tmp_path / "home")])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "--host 192.0.2.1: cannot listen on it" in line and "in use" not in line
