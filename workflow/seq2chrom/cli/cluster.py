"""`seq2chrom install-profile`: put a profile of profiles/ where `snakemake --profile NAME` looks.

`snakemake --profile slurm` searches the working directory, the user's Snakemake config folder
(`$XDG_CONFIG_HOME/snakemake`, usually `~/.config/snakemake`) and the site folder, not the
workflow's `profiles/`. One `seq2chrom install-profile slurm` copies `profiles/slurm` into the
user folder, after which the README command works as written from any directory. The controller
job (`controller.sh`) is not copied: it is submitted from the repository, and uses the installed
copy when there is one.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from seq2chrom.errors import InputError

# The repository's profiles/ (the package lives in workflow/seq2chrom/ of an editable install).
PROFILES = Path(__file__).resolve().parents[3] / "profiles"
#: The controller job's script in a profile folder (profiles/slurm, profiles/biowulf).
CONTROLLER = "controller.sh"


def register(subparsers) -> None:
    install = subparsers.add_parser(
        "install-profile",
        help="copy (or link) a profile of profiles/ into the user's Snakemake config folder",
        description="Copy profiles/NAME to $XDG_CONFIG_HOME/snakemake/NAME (default "
        "~/.config/snakemake/NAME), so that `snakemake --profile NAME` finds it; "
        "profiles/NAME/controller.sh (not copied) then uses the copy.",
    )
    install.add_argument("name", help="profile to install: slurm, biowulf or local")
    install.add_argument(
        "--dest",
        type=Path,
        default=None,
        help="config folder to install into (default: Snakemake's user config folder)",
    )
    install.add_argument(
        "--profiles", type=Path, default=PROFILES, help=f"folder of profiles (default {PROFILES})"
    )
    install.add_argument(
        "--link",
        action="store_true",
        help="symlink instead of copying (follows edits of the repository's profile)",
    )
    install.add_argument("--force", action="store_true", help="replace an installed profile")
    install.set_defaults(func=run_install_profile)


def user_config_dir() -> Path:
    """The folder `snakemake --profile NAME` searches for user profiles (platformdirs, as
    Snakemake itself): `$XDG_CONFIG_HOME/snakemake` or `~/.config/snakemake` on Linux."""
    from platformdirs import user_config_dir as platform_config_dir

    return Path(platform_config_dir("snakemake", "snakemake"))


def install_profile(
    name: str, profiles: Path, dest: Path, *, link: bool = False, force: bool = False
) -> Path:
    """Copy (or link) `profiles/name` to `dest/name`; return the installed path."""
    source = profiles / name
    if not (source / "config.yaml").is_file():
        available = sorted(p.name for p in profiles.glob("*") if (p / "config.yaml").is_file())
        raise InputError(
            source,
            "no such profile (no config.yaml)",
            fix=f"use one of {available}" if available else "pass --profiles <repo>/profiles",
        )
    target = dest / name
    if target.exists() or target.is_symlink():
        if not force:
            raise InputError(target, "a profile is installed there", fix="add --force to replace")
        if target.is_symlink() or target.is_file():
            target.unlink()
        else:
            shutil.rmtree(target)
    dest.mkdir(parents=True, exist_ok=True)
    if link:
        target.symlink_to(source.resolve(), target_is_directory=True)
    else:
        # The controller finds the workflow from where it lies: it is submitted from the
        # repository (and then uses this copy), never copied.
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(CONTROLLER))
    return target


def run_install_profile(args: argparse.Namespace) -> None:
    dest = args.dest if args.dest is not None else user_config_dir()
    target = install_profile(args.name, args.profiles, dest, link=args.link, force=args.force)
    how = "linked" if args.link else "copied"
    print(f"{how} {args.profiles / args.name} -> {target}; run: snakemake --profile {args.name}")
    controller = args.profiles.resolve() / args.name / CONTROLLER
    if controller.is_file():
        print(f"full-size runs: sbatch {controller} (from the project folder; it uses {target})")
