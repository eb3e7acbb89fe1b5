"""The demo logins and the fixed ids everything else points at.

Users are created first with these ids, so any builder may refer to them without waiting for
rows to come back from the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.enums import Tier

DEMO_PASSWORD = "comptoir-demo-2026"

ADMIN_ID, MEMBER_USER_ID, INFRA_USER_ID, THIRD_PARTY_ID, OPERATOR_ID = 1, 2, 3, 4, 5
GROUP_ID = 1
DEMO_MEMBER_ID = 1  # the largest electricity member
# The second group comes after everything of the first, so the first one's ids stay put.
SECOND_GROUP_ID = 2
SECOND_ADMIN_ID = 9


@dataclass(frozen=True, slots=True)
class DemoLogin:
    tier: Tier
    email: str
    full_name: str
    what: str


# The main group's logins, in the order of the fixed user ids above (ADMIN_ID = 1 …).
MAIN_GROUP_LOGINS: list[DemoLogin] = [
    DemoLogin(
        Tier.ADMIN,
        "admin@demo.comptoir.fr",
        "Hélène Coordinatrice",
        "Administratrice du groupement : tous les membres et tous les sites",
    ),
    DemoLogin(
        Tier.USER,
        "utilisateur@demo.comptoir.fr",
        "Marc Dumas",
        "Utilisateur d'un membre (électricité) : tous ses comptes de contrat",
    ),
    DemoLogin(
        Tier.INFRA_USER,
        "infra@demo.comptoir.fr",
        "Julie Perrin",
        "Infra-utilisatrice du même membre : deux de ses comptes de contrat",
    ),
    DemoLogin(
        Tier.THIRD_PARTY,
        "tiers@demo.comptoir.fr",
        "Conseil Énergie Partagé",
        "Conseiller en énergie partagé : comptes de trois membres, lecture seule",
    ),
    DemoLogin(
        Tier.OPERATOR,
        "operateur@demo.comptoir.fr",
        "Service clients",
        "Opérateur du fournisseur : back-office, sans périmètre client",
    ),
]
SECOND_GROUP_ADMIN = DemoLogin(
    Tier.ADMIN,
    "admin@autre-groupement.comptoir.fr",
    "Thomas Lefèvre",
    "Administrateur d'un autre groupement : ses membres et ses sites seulement",
)
# What `comptoir demo-data` prints and the README lists.
DEMO_LOGINS: list[DemoLogin] = [*MAIN_GROUP_LOGINS, SECOND_GROUP_ADMIN]
