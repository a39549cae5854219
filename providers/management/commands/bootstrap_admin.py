"""Create the first admin from COMFYVN_ADMIN_USER/COMFYVN_ADMIN_PASSWORD, or say how to make one."""
import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Create the first admin user from the environment (idempotent) and print how to log in."

    def handle(self, *args, **options):
        username = os.environ.get("COMFYVN_ADMIN_USER", "")
        password = os.environ.get("COMFYVN_ADMIN_PASSWORD", "")
        users = get_user_model().objects
        if username and password:
            user = users.filter(username=username).first()
            if user is None:
                user = users.create_superuser(username=username, password=password, email="")
                self.stdout.write(f"Created admin user '{username}'.")
            Token.objects.get_or_create(user=user)
            self.stdout.write(f"Log in at /admin/ as '{username}'. Print its API token with "
                              f"`.venv/bin/python manage.py drf_create_token {username}`.")
        elif not users.filter(is_superuser=True).exists():
            self.stdout.write(
                "No admin yet. Create one with `.venv/bin/python manage.py createsuperuser`, then an API token with "
                "`.venv/bin/python manage.py drf_create_token <user>` (or set COMFYVN_ADMIN_USER and "
                "COMFYVN_ADMIN_PASSWORD and rerun `make run`)."
            )
        else:
            self.stdout.write("Log in at /admin/ with your admin user; get an API token with "
                              "`.venv/bin/python manage.py drf_create_token <user>`.")
