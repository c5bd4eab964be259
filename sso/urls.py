from django.urls import path

from . import views

app_name = "sso"
urlpatterns = [
    path("start/", views.start, name="start"),
    path("<uuid:public_id>/login/", views.sign_on, name="login"),
    path("<uuid:public_id>/acs/", views.assertion_consumer, name="acs"),
    path("<uuid:public_id>/metadata/", views.sp_metadata, name="metadata"),
]
