"""The CloudFront Function's cases, run by Node's own test runner (as `make test-node` does)."""

import shutil
import subprocess
from pathlib import Path

from tests.services import require

ROOT = Path(__file__).resolve().parents[2]


def test_rewrite_function_passes_its_node_tests():
    node = shutil.which("node")
    require(node is not None, "Node.js (node --test)")
    result = subprocess.run(
        [node, "--test", "deploy/cloudfront/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
