from django.urls import path

from . import api, selfservice, views, webhooks

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", views.PortalLogoutView.as_view(), name="logout"),
    path("set-password/new/", views.set_password_form, name="set_password_form"),
    path("set-password/done/", views.SetPasswordDoneView.as_view(), name="set_password_done"),
    path("set-password/<str:token>/", views.set_password_link, name="set_password"),
    path("invitation/accept/", selfservice.invitation_accept, name="invitation_accept"),
    path("invitation/<str:token>/", selfservice.invitation_link, name="invitation"),
    path("o/<slug:slug>/", views.dashboard, name="dashboard"),
    path("o/<slug:slug>/members/", selfservice.members, name="members"),
    path("o/<slug:slug>/members/invite/", selfservice.invite, name="invite"),
    path("o/<slug:slug>/provisioning/", selfservice.provisioning, name="provisioning"),
    path(
        "o/<slug:slug>/provisioning/status.json",
        selfservice.test_connection_status,
        name="test_connection_status",
    ),
    path("o/<slug:slug>/provisioning/tokens/", selfservice.create_token, name="create_token"),
    path(
        "o/<slug:slug>/provisioning/tokens/<int:pk>/",
        selfservice.token_detail,
        name="token_detail",
    ),
    path(
        "o/<slug:slug>/provisioning/tokens/<int:pk>/rotate/",
        selfservice.rotate_token,
        name="rotate_token",
    ),
    path(
        "o/<slug:slug>/provisioning/tokens/<int:pk>/revoke/",
        selfservice.revoke_token,
        name="revoke_token",
    ),
    path(
        "o/<slug:slug>/provisioning/clients/",
        selfservice.create_oauth_client,
        name="create_oauth_client",
    ),
    path(
        "o/<slug:slug>/provisioning/clients/<int:pk>/",
        selfservice.client_detail,
        name="client_detail",
    ),
    path(
        "o/<slug:slug>/provisioning/clients/<int:pk>/rotate/",
        selfservice.rotate_client_secret,
        name="rotate_client_secret",
    ),
    path(
        "o/<slug:slug>/provisioning/clients/<int:pk>/revoke/",
        selfservice.revoke_client,
        name="revoke_client",
    ),
    path(
        "o/<slug:slug>/provisioning/workload-identity/",
        selfservice.configure_workload_identity,
        name="configure_workload_identity",
    ),
    path("o/<slug:slug>/webhooks/", webhooks.webhooks, name="webhooks"),
    path("o/<slug:slug>/webhooks/<int:pk>/", webhooks.webhook_detail, name="webhook_detail"),
    path(
        "o/<slug:slug>/webhooks/<int:pk>/rotate/",
        webhooks.rotate_webhook_secret,
        name="rotate_webhook_secret",
    ),
    path(
        "o/<slug:slug>/webhooks/<int:pk>/disable/", webhooks.disable_webhook, name="disable_webhook"
    ),
    path("o/<slug:slug>/webhooks/<int:pk>/enable/", webhooks.enable_webhook, name="enable_webhook"),
    path("o/<slug:slug>/webhooks/<int:pk>/test/", webhooks.send_test_webhook, name="test_webhook"),
    path("o/<slug:slug>/events/", views.event_list, name="event_list"),
    path("o/<slug:slug>/events.csv", views.event_csv, name="event_csv"),
    path("o/<slug:slug>/events/<int:pk>/", views.event_detail, name="event_detail"),
    path("o/<slug:slug>/users/", views.user_list, name="user_list"),
    path("o/<slug:slug>/find/", views.find_user, name="find_user"),
    path("o/<slug:slug>/users/<path:key>/", views.user_timeline, name="user_timeline"),
    path("o/<slug:slug>/groups/", views.group_list, name="group_list"),
    path("o/<slug:slug>/groups/<path:key>/", views.group_timeline, name="group_timeline"),
    path("api/v1/o/<slug:slug>/events/", api.EventListView.as_view(), name="api_events"),
]
