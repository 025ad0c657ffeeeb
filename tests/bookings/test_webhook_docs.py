"""The copy-paste example in docs/webhooks.md really signs and delivers a booking."""

import contextlib
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bookings.models import Booking
from tests.services import require

from .intake_support import SECRET

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


@pytest.mark.django_db(transaction=True)
def test_the_python_example_is_accepted(live_server, webhook_secrets, queen):
    snippet = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    snippet = snippet.replace('"whsec_..."', repr(SECRET)).replace(
        "http://127.0.0.1:8000", live_server.url
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(snippet, str(DOC), "exec"), {})
    assert out.getvalue().startswith("202 ")
    assert Booking.objects.get().party_size == 8


@pytest.mark.django_db(transaction=True)
def test_the_shell_example_is_accepted(live_server, webhook_secrets, queen):
    tools = [shutil.which(t) for t in ("bash", "openssl", "curl")]
    require(all(tools), "bash, openssl and curl")
    shell = re.search(r"```bash\n(.*?)```", DOC.read_text(), re.S).group(1)
    shell = shell.replace("'whsec_...'", f"'{SECRET}'").replace(
        "http://127.0.0.1:8000", live_server.url
    )
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=30)
    assert '"status": "accepted"' in result.stdout, result.stdout + result.stderr
    assert Booking.objects.get().external_id == "BS-4821937"
