"""URLs of the accounts app: /accounts/…"""

from django.urls import path

from lms.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("language/", views.set_language, name="set_language"),
    path("account/", views.account, name="account"),
    path("account/api-key/", views.api_key, name="api_key"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("activate/<uidb64>/<token>/", views.activate, name="activate"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("import/", views.import_officers, name="import_officers"),
]
