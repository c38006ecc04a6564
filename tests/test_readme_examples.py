"""The README's Python examples (```pycon blocks) run and print what the README says they do."""

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```pycon\n(.*?)```", re.S)
DOCUMENTS = ["README.md", "conformance/README.md", "spec/README.md"]
EXAMPLES = [
    pytest.param(text, id=f"{name}#{n}")
    for name in DOCUMENTS
    for n, text in enumerate(BLOCK.findall((ROOT / name).read_text()))
]


def test_the_readme_has_examples():
    assert any(param.id.startswith("README.md#") for param in EXAMPLES)


@pytest.mark.parametrize("text", EXAMPLES)
def test_example_prints_what_the_readme_says(text):
    test = doctest.DocTestParser().get_doctest(text, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    output: list[str] = []
    runner.run(test, out=output.append)
    assert runner.failures == 0, "".join(output)
