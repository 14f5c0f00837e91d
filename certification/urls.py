"""URLs of the certification app, mounted at the site root: certificates/… and verify/…."""

from django.urls import path

from certification import views

app_name = "certification"

urlpatterns = [
    path("verify/", views.verify_form, name="verify_form"),
    path("verify/<str:code>.json", views.verify_json, name="verify_json"),
    path("verify/<str:code>", views.verify, name="verify"),
    path("certificates/", views.my_certificates, name="my_certificates"),
    path("certificates/<uuid:certificate_id>/pdf", views.download_pdf, name="pdf"),
    path(
        "certificates/<uuid:certificate_id>/credential.json",
        views.download_credential,
        name="credential",
    ),
    path("certificates/<uuid:certificate_id>/revoke", views.revoke, name="revoke"),
    path("certificates/runs/<int:run_id>/issue", views.bulk_issue, name="bulk_issue"),
    path("certificates/bulk/<uuid:job_id>", views.bulk_job, name="bulk_job"),
    path("certificates/bulk/<uuid:job_id>/resume", views.bulk_resume, name="bulk_resume"),
    path("certificates/verify-many", views.verify_many, name="verify_many"),
    path("certificates/issuer/did.json", views.issuer_did, name="issuer_did"),
    path("certificates/status/revocation", views.status_list, name="status_list"),
]
