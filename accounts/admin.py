"""Accounts in the technical console (secretariat/admin.py decides what may be
changed: here only an account's active flag, and a new charter version)."""

from django.contrib import admin

from accounts.models import ConfidentialityAgreement, LoginThrottle, Membership, Practice, User


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "timezone"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "practice", "role", "starts_on", "ends_on"]
    list_filter = ["role"]


@admin.register(ConfidentialityAgreement)
class ConfidentialityAgreementAdmin(admin.ModelAdmin):
    list_display = ["version", "title", "published_at"]


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    # No password field here: nobody sets another person's password. Only the
    # active flag changes (a person leaves; incident containment).
    list_display = ["username", "email", "is_active", "last_login"]
    fields = ["username", "first_name", "last_name", "email", "is_active"]
    readonly_fields = ["username", "first_name", "last_name", "email"]


@admin.register(LoginThrottle)
class LoginThrottleAdmin(admin.ModelAdmin):
    # Deleting a counter unlocks that login before its cool-off ends.
    list_display = ["key", "attempts", "last_at"]
    search_fields = ["key"]
