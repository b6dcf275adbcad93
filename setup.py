"""Package list and two data files for setuptools (everything else is in pyproject.toml).

The starter knowledge base lives in ``knowledge/`` and the documented configuration in
``bot.toml.example`` at the top of the repository, where editors find them; the wheel carries them as
``bot/starter_knowledge/`` and ``bot/bot.toml.example`` so that an installed bot has the same articles
and ``helpdesk-bot init`` the same example (:mod:`bot.desk` looks in both places).
"""

import shutil
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py


class BuildPyWithExample(build_py):  # type: ignore[misc]
    """``build_py`` that also copies ``bot.toml.example`` into the built ``bot`` package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "bot" / "bot.toml.example"
        shutil.copyfile(Path(__file__).parent / "bot.toml.example", target)


setup(
    packages=[
        *find_namespace_packages(include=["bot*", "adapters*"], exclude=["*__pycache__*"]),
        "bot.starter_knowledge",
    ],
    package_dir={"bot.starter_knowledge": "knowledge"},
    cmdclass={"build_py": BuildPyWithExample},
)
