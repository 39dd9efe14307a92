"""A local HTTP server that answers like the three public price lists, on 127.0.0.1.

* AWS Price List bulk offer file: ``/offers/v1.0/aws/AmazonEC2/current/<region>/index.json``
  (``products`` + ``terms.OnDemand``).
* Azure Retail Prices API: ``/api/retail/prices?$filter=...`` with ``Items`` and
  ``NextPageLink`` paging (2 items a page, so paging is exercised).
* GCP Cloud Billing Catalog: ``/v1/services/6F81-5844-456A/skus`` with ``skus`` and
  ``nextPageToken`` paging.

Prices are the sample's, scaled per region by ``REGION_FACTOR`` so tests can check that each
region got its own price. ``mode`` injects faults where the cloud would: ``"http500"``,
``"garbage"`` (not JSON), ``"hang"`` (never answers before the client's timeout).
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REGION_FACTOR = {"us-east-1": 1.0, "eu-west-1": 1.1, "eastus": 1.0, "westeurope": 1.2}

# AWS: (instanceType, vcpu, memory text, gpu count, $/h in us-east-1)
AWS_PRODUCTS = [
    ("m5.large", "2", "8 GiB", "0", 0.0900),
    ("m5.xlarge", "4", "16 GiB", "0", 0.1800),
    ("m5.metal", "96", "384 GiB", "0", 4.2000),  # a size the shipped catalog lacks
    ("g5.xlarge", "4", "16 GiB", "1", 0.9500),
    ("p4d.24xlarge", "96", "1,152 GiB", "8", 21.9600),
    ("x2idn.metal", "128", "2,048 GiB", "0", 13.3400),  # a family the catalog does not track
]

# Azure: (armSkuName, productName, skuName, $/h in eastus)
AZURE_ITEMS = [
    ("Standard_D2s_v5", "Virtual Machines Dsv5 Series", "D2s v5", 0.0900),
    ("Standard_D2s_v5", "Virtual Machines Dsv5 Series", "D2s v5 Spot", 0.0150),
    ("Standard_D2s_v5", "Virtual Machines Dsv5 Series Windows", "D2s v5", 0.1880),
    ("Standard_D2s_v5", "Virtual Machines Dsv5 Series", "D2s v5 Low Priority", 0.0180),
    ("Standard_D4s_v5", "Virtual Machines Dsv5 Series", "D4s v5", 0.1800),
    ("Standard_ND96asr_v4", "Virtual Machines NDasv4 Series", "ND96asr v4", 27.0000),
    ("Standard_ND96asr_v4", "Virtual Machines NDasv4 Series", "ND96asr v4 Spot", 9.0000),
    ("Standard_Unknown_v9", "Virtual Machines Unknown Series", "Unknown v9", 1.0000),
]

GCP_REGIONS = ["us-central1", "europe-west4"]
# GCP: (description, usageType, $ per unit in us-central1)
GCP_SKUS = [
    ("N2 Instance Core running in Americas", "OnDemand", 0.031611),
    ("N2 Instance Ram running in Americas", "OnDemand", 0.004237),
    ("Spot Preemptible N2 Instance Core running in Americas", "Preemptible", 0.00765),
    ("Spot Preemptible N2 Instance Ram running in Americas", "Preemptible", 0.001025),
    ("N1 Predefined Instance Core running in Americas", "OnDemand", 0.031611),
    ("N1 Predefined Instance Ram running in Americas", "OnDemand", 0.004237),
    ("Nvidia Tesla T4 GPU running in Americas", "OnDemand", 0.35),
    ("A2 Instance Core running in Americas", "OnDemand", 0.031611),
    ("A2 Instance Ram running in Americas", "OnDemand", 0.004237),
    ("Nvidia Tesla A100 GPU running in Americas", "OnDemand", 2.933908),
    ("N2 Instance Core running in Americas", "Commit1Yr", 0.019915),  # ignored: commitment
    ("Network Internet Egress from Americas to Americas", "OnDemand", 0.12),  # ignored
]


def aws_offer_file(region: str) -> dict[str, Any]:
    factor = REGION_FACTOR.get(region, 1.05)
    products: dict[str, Any] = {}
    terms: dict[str, Any] = {}
    for i, (itype, vcpu, memory, gpu, price) in enumerate(AWS_PRODUCTS):
        for os_name, tenancy, extra in (("Linux", "Shared", 0.0), ("Windows", "Shared", 0.2),
                                        ("Linux", "Dedicated", 0.3)):  # fmt: skip
            sku = f"SKU{i}{os_name[0]}{tenancy[0]}"
            products[sku] = {
                "sku": sku,
                "productFamily": "Compute Instance",
                "attributes": {
                    "instanceType": itype, "vcpu": vcpu, "memory": memory, "gpu": gpu,
                    "operatingSystem": os_name, "tenancy": tenancy, "preInstalledSw": "NA",
                    "capacitystatus": "Used", "regionCode": region,
                    "licenseModel": "No License required",
                },
            }  # fmt: skip
            usd = f"{(price + extra) * factor:.10f}"
            terms[sku] = {
                f"{sku}.JRTCKXETXF": {
                    "offerTermCode": "JRTCKXETXF", "sku": sku,
                    "priceDimensions": {f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                        "unit": "Hrs", "pricePerUnit": {"USD": usd},
                        "description": f"${usd} per On Demand {os_name} {itype} Instance Hour",
                    }},
                }
            }  # fmt: skip
    return {"formatVersion": "v1.0", "offerCode": "AmazonEC2", "publicationDate": "2026-01-01",
            "products": products, "terms": {"OnDemand": terms}}  # fmt: skip


def azure_items(region: str) -> list[dict[str, Any]]:
    factor = REGION_FACTOR.get(region, 1.05)
    return [{"currencyCode": "USD", "retailPrice": round(price * factor, 6),
             "unitPrice": round(price * factor, 6), "armRegionName": region,
             "location": region, "armSkuName": sku, "productName": product, "skuName": sku_name,
             "serviceName": "Virtual Machines", "unitOfMeasure": "1 Hour", "type": "Consumption",
             "isPrimaryMeterRegion": True}
            for sku, product, sku_name, price in AZURE_ITEMS]  # fmt: skip


def gcp_skus() -> list[dict[str, Any]]:
    out = []
    for i, (desc, usage, price) in enumerate(GCP_SKUS):
        for region in GCP_REGIONS:
            value = price * (1.1 if region == "europe-west4" else 1.0)
            units, nanos = int(value), round((value - int(value)) * 1e9)
            out.append({
                "name": f"services/6F81-5844-456A/skus/{i:04X}-{region}",
                "skuId": f"{i:04X}-{region}", "description": desc,
                "category": {"serviceDisplayName": "Compute Engine", "resourceFamily": "Compute",
                             "resourceGroup": "CPU", "usageType": usage},
                "serviceRegions": [region],
                "pricingInfo": [{"pricingExpression": {
                    "usageUnit": "h", "displayQuantity": 1,
                    "tieredRates": [{"startUsageAmount": 0, "unitPrice": {
                        "currencyCode": "USD", "units": str(units), "nanos": nanos}}]}}],
            })  # fmt: skip
    return out


class PricingServer:
    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(self.path)
                if server.mode == "hang":
                    time.sleep(3)
                    return
                if server.mode == "http500":
                    self._send(500, b'{"error": "internal"}')
                    return
                body = server.answer(self.path, f"http://{self.headers['Host']}")
                if body is None:
                    self._send(404, b'{"error": "not found"}')
                elif server.mode == "garbage":
                    self._send(200, b"<html>maintenance</html>")
                else:
                    self._send(200, json.dumps(body).encode())

            def _send(self, code: int, data: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, path: str, host: str) -> Any:
        parsed = urllib.parse.urlparse(path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        if m := re.fullmatch(r"/offers/v1\.0/aws/AmazonEC2/current/([a-z0-9-]+)/index\.json",
                             parsed.path):  # fmt: skip
            return aws_offer_file(m.group(1))
        if parsed.path == "/api/retail/prices":
            region = re.search(r"armRegionName eq '([^']+)'", query.get("$filter", ""))
            items = azure_items(region.group(1)) if region else []
            skip = int(query.get("$skip", "0"))
            page = items[skip : skip + 2]
            nxt = None
            if skip + 2 < len(items):
                nxt = f"{host}/api/retail/prices?" + urllib.parse.urlencode(
                    {**query, "$skip": str(skip + 2)}
                )
            return {"BillingCurrency": "USD", "CustomerEntityType": "Retail", "Items": page,
                    "NextPageLink": nxt, "Count": len(page)}  # fmt: skip
        if parsed.path == "/v1/services/6F81-5844-456A/skus":
            skus = gcp_skus()
            start = int(query.get("pageToken") or 0)
            page = skus[start : start + 5]
            token = str(start + 5) if start + 5 < len(skus) else ""
            return {"skus": page, "nextPageToken": token}
        return None

    def __enter__(self) -> PricingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
