"""vnetEnabled: the app integrated into a subnet, storage reachable only through private endpoints
whose names resolve in private DNS zones; off by default, and the public variant unchanged."""

import ipaddress
import json
from typing import Any

import pytest

from tests.infra.bicep import INFRA, body, condition, model, resources_of_type
from tests.infra.expressions import evaluate, template_scope

NETWORK = "app/network.bicep"
SERVICES = ["blob", "queue", "table"]  # host storage and package, durable queues, tables


def _only(relative: str, resource_type: str) -> dict[str, Any]:
    (declaration,) = resources_of_type(relative, resource_type).values()
    return declaration


def _accessor(*path: str) -> Any:
    if len(path) == 1:
        return path[0]
    operands = {"operand_1": path[0], "operand_2": _accessor(*path[1:])}
    return {"operator": {"type": "property_accessor", "operands": operands}}


def _index(array: str, index: str) -> Any:
    return {
        "operator": {"type": "index_accessor", "operands": {"operand_1": array, "operand_2": index}}
    }


class TestSwitch:
    def test_it_is_off_unless_asked_for(self) -> None:
        """vnetEnabled defaults to false; azd reads VNET_ENABLED (default false)."""
        assert model("main.bicep")["parameters"]["vnetEnabled"]["default"] is False
        values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
        assert values["vnetEnabled"]["value"] == "${VNET_ENABLED=false}"

    def test_the_network_module_exists_only_with_it(self) -> None:
        """network.bicep deploys only with vnetEnabled and gets the storage account to reach."""
        network = model("main.bicep")["modules"]["network"]
        assert condition(network) == "vnetEnabled"
        assert body(network)["params"]["storageAccountName"] == _accessor(
            "storage", "outputs", "name"
        )
        assert (
            body(model("main.bicep")["modules"]["storage"])["params"]["vnetEnabled"]
            == "vnetEnabled"
        )

    def test_the_app_joins_the_subnet_only_with_it(self) -> None:
        """The app's subnet comes from the network module (read with `.?`); without the network
        the site has no virtualNetworkSubnetId at all."""
        text = (INFRA / "main.bicep").read_text()
        assert "appSubnetId: network.?outputs.appSubnetId ?? ''" in text
        (site,) = resources_of_type("app/function.bicep", "Microsoft.Web/sites").values()
        subnet = body(site)["properties"]["virtualNetworkSubnetId"]
        assert evaluate(subnet, template_scope("app/function.bicep", appSubnetId="")) is None
        assert (
            evaluate(subnet, template_scope("app/function.bicep", appSubnetId="/subnets/app"))
            == "/subnets/app"
        )


class TestStorageAccount:
    @pytest.mark.parametrize(
        ("vnet_enabled", "access", "default_action"),
        [(False, "Enabled", "Allow"), (True, "Disabled", "Deny")],
    )
    def test_public_access_is_off_in_the_vnet_variant(
        self, vnet_enabled: bool, access: str, default_action: str
    ) -> None:
        """Public network access and the firewall's default follow vnetEnabled; trusted Azure
        services keep their bypass (ARM's control plane, which creates the tables)."""
        scope = template_scope("app/storage.bicep", vnetEnabled=vnet_enabled)
        properties = body(_only("app/storage.bicep", "Microsoft.Storage/storageAccounts"))[
            "properties"
        ]
        assert evaluate(properties["publicNetworkAccess"], scope) == access
        assert evaluate(properties["networkAcls"], scope) == {
            "bypass": "AzureServices",
            "defaultAction": default_action,
        }


class TestNetwork:
    def _subnets(self) -> dict[str, dict[str, Any]]:
        vnet = body(_only(NETWORK, "Microsoft.Network/virtualNetworks"))
        scope = template_scope(NETWORK)
        return {evaluate(s["name"], scope): s["properties"] for s in vnet["properties"]["subnets"]}

    def test_two_subnets_inside_the_address_space(self) -> None:
        """An app subnet and a private-endpoint subnet, disjoint, within the network's space."""
        scope = template_scope(NETWORK)
        vnet = body(_only(NETWORK, "Microsoft.Network/virtualNetworks"))
        (space,) = [
            ipaddress.IPv4Network(evaluate(p, scope))
            for p in vnet["properties"]["addressSpace"]["addressPrefixes"]
        ]
        subnets = self._subnets()
        assert set(subnets) == {"snet-app", "snet-private-endpoints"}
        ranges = [
            ipaddress.IPv4Network(evaluate(s["addressPrefix"], scope)) for s in subnets.values()
        ]
        assert all(r.subnet_of(space) for r in ranges)
        assert not ranges[0].overlaps(ranges[1])

    def test_the_app_subnet_is_delegated_to_flex_consumption(self) -> None:
        """Flex Consumption integrates only into a subnet delegated to Microsoft.App/environments;
        main.bicep hands that subnet to the app."""
        app = self._subnets()["snet-app"]
        assert [d["properties"]["serviceName"] for d in app["delegations"]] == [
            "Microsoft.App/environments"
        ]
        outputs = model(NETWORK)["outputs"]
        assert outputs["appSubnetId"]["value"] == _accessor("appSubnet", "id")
        (app_subnet,) = [
            r
            for r in resources_of_type(
                NETWORK, "Microsoft.Network/virtualNetworks/subnets"
            ).values()
            if body(r)["name"] == "appSubnetName"
        ]
        assert app_subnet["existing"] is True and body(app_subnet)["parent"] == "vnet"

    def test_every_subnet_has_its_own_security_group(self) -> None:
        """Two network security groups, one per subnet."""
        groups = sorted(resources_of_type(NETWORK, "Microsoft.Network/networkSecurityGroups"))
        attached = [s["networkSecurityGroup"]["id"] for s in self._subnets().values()]
        assert len(groups) == 2
        assert sorted(map(str, attached)) == sorted(str(_accessor(name, "id")) for name in groups)

    def test_the_private_endpoint_subnet_lets_endpoints_in(self) -> None:
        """Endpoints' network policies off; nothing in it needs outbound internet."""
        subnet = self._subnets()["snet-private-endpoints"]
        assert subnet["privateEndpointNetworkPolicies"] == "Disabled"
        assert subnet["defaultOutboundAccess"] is False


class TestPrivateEndpoints:
    def test_one_per_storage_service_on_the_account(self) -> None:
        """blob, queue and table endpoints on the storage account, in the endpoint subnet."""
        assert template_scope(NETWORK)["storageServices"] == SERVICES
        endpoints = _only(NETWORK, "Microsoft.Network/privateEndpoints")
        assert endpoints["config"]["loop_type"]["detail"]["array_name"] == "storageServices"
        properties = body(endpoints)["properties"]
        assert properties["subnet"] == {"id": _accessor("privateEndpointSubnet", "id")}
        (connection,) = properties["privateLinkServiceConnections"]
        assert connection["properties"] == {
            "privateLinkServiceId": _accessor("storage", "id"),
            "groupIds": ["service"],
        }
        storage = _only(NETWORK, "Microsoft.Storage/storageAccounts")
        assert storage["existing"] is True and body(storage)["name"] == "storageAccountName"

    def test_each_service_has_a_private_dns_zone_linked_to_the_network(self) -> None:
        """privatelink.<service>.<storage suffix> zones (the suffix from environment(), so other
        clouds work), each linked to the network without auto-registration."""
        zones = _only(NETWORK, "Microsoft.Network/privateDnsZones")
        assert zones["config"]["loop_type"]["detail"]["array_name"] == "storageServices"
        assert body(zones)["name"] == "privatelink.${service}.${environment().suffixes.storage}"
        assert body(zones)["location"] == "global"
        links = body(_only(NETWORK, "Microsoft.Network/privateDnsZones/virtualNetworkLinks"))
        assert links["parent"] == _index("dnsZones", "i")
        assert links["properties"] == {
            "registrationEnabled": False,
            "virtualNetwork": {"id": _accessor("vnet", "id")},
        }

    def test_each_endpoint_registers_in_its_services_zone(self) -> None:
        """The zone group of endpoint i points at zone i, both looped over the same services."""
        groups = _only(NETWORK, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
        assert groups["config"]["loop_type"]["detail"]["array_name"] == "storageServices"
        config = body(groups)
        assert config["parent"] == _index("privateEndpoints", "i")
        (zone,) = config["properties"]["privateDnsZoneConfigs"]
        assert zone["properties"]["privateDnsZoneId"] == {
            "operator": {
                "type": "property_accessor",
                "operands": {"operand_1": _index("dnsZones", "i"), "operand_2": "id"},
            }
        }
