"""Who saved a review: the person, not the machine login every container shares.

In a Docker JupyterHub image everyone is ``jovyan``, on a course server often ``root``, so the
machine login alone says nothing. The reviewer is JupyterHub's user (``JUPYTERHUB_USER``, set in
every single-user server) when there is one, else the machine login unless it is a shared one, else
whoever the desk's Reviewer box names. ``[staff]`` in ``course.toml`` maps logins to the names
shown on feedback pages and in the review history. Plain functions: the desk passes the environment.
"""

from __future__ import annotations

from collections.abc import Mapping

SHARED_LOGINS = frozenset({"root", "jovyan", "ubuntu", "admin", "user"})  # logins that name no one in particular


def reviewer_login(staff: Mapping[str, str], hub_user: str | None, login: str) -> str:
    """The login reviews are saved under; "" when only a shared login is known (the desk then asks for a name).

    A shared login the staff list names (one TA on a one-person server) counts as that person.
    """
    if hub_user and hub_user.strip():
        return hub_user.strip()
    if login in SHARED_LOGINS and login not in staff:
        return ""
    return login


def saved_as(typed: str, staff: Mapping[str, str]) -> str:
    """What a name typed into the desk is saved as: the staff login it names (login or name, any case), else itself."""
    wanted = typed.strip()
    for login, name in staff.items():
        if wanted.casefold() in (login.casefold(), name.casefold()):
            return login
    return wanted


def reviewer_name(saved: str, staff: Mapping[str, str]) -> str | None:
    """How a saved review's reviewer is shown: the staff list's name, else as saved.

    None for a shared machine login (reviews saved before coursekit asked who you are): it names no one.
    """
    if saved in staff:
        return staff[saved]
    return None if saved in SHARED_LOGINS or not saved.strip() else saved
