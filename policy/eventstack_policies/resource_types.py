"""The Azure resource type tokens the rules look at, named once."""

from __future__ import annotations

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
KEY_VAULT = "azure-native:keyvault:Vault"
WEB_APPS: frozenset[str] = frozenset({"azure-native:web:WebApp", "azure-native:web:WebAppSlot"})
APP_SETTINGS_RESOURCES: frozenset[str] = frozenset(
    {"azure-native:web:WebAppApplicationSettings", "azure-native:web:WebAppApplicationSettingsSlot"}
)
PUBLISHING_CREDENTIAL_POLICIES: frozenset[str] = frozenset(
    {
        "azure-native:web:WebAppFtpAllowed",
        "azure-native:web:WebAppScmAllowed",
        "azure-native:web:WebAppFtpAllowedSlot",
        "azure-native:web:WebAppScmAllowedSlot",
    }
)
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
NETWORK_SECURITY_GROUP = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
SUBNET = "azure-native:network:Subnet"
VIRTUAL_NETWORK = "azure-native:network:VirtualNetwork"
APP_INSIGHTS = "azure-native:applicationinsights:Component"


WEB_APP = "azure-native:web:WebApp"
FTP_PUBLISHING_POLICY = "azure-native:web:WebAppFtpAllowed"
SCM_PUBLISHING_POLICY = "azure-native:web:WebAppScmAllowed"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
PRIVATE_DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
DIAGNOSTIC_SETTINGS: frozenset[str] = frozenset(
    {"azure-native:monitor:DiagnosticSetting", "azure-native:insights:DiagnosticSetting"}
)
LOG_ANALYTICS_WORKSPACE = "azure-native:operationalinsights:Workspace"
MANAGEMENT_POLICY = "azure-native:storage:ManagementPolicy"
NAT_GATEWAY = "azure-native:network:NatGateway"

APP_SERVICE_PLAN = "azure-native:web:AppServicePlan"
VAULT_KEY = "azure-native:keyvault:Key"
FRONT_DOOR_PROFILE = "azure-native:cdn:Profile"
FRONT_DOOR_ENDPOINT = "azure-native:cdn:AFDEndpoint"
FRONT_DOOR_ROUTE = "azure-native:cdn:Route"
FRONT_DOOR_SECURITY_POLICY = "azure-native:cdn:SecurityPolicy"
WAF_POLICY = "azure-native:frontdoor:Policy"
