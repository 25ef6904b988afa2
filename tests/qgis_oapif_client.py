"""What a planner does in QGIS, headless: store a Basic authentication configuration (username + API token) behind a
master password, add the zones as an OGC API – Features layer with it, and save the layer as a GeoPackage.

Run by tests/test_desktop_clients.py with Debian's system python (/usr/bin/python3, which has python3-qgis; the
project's venv cannot import qgis) as ``python3 qgis_oapif_client.py URL USERNAME TOKEN GPKG``, with
QT_QPA_PLATFORM=offscreen and a throwaway HOME. Prints one JSON object: validity, feature count, the fields and
their QGIS types, what the GeoPackage holds, and QGIS's own error messages.
"""

import json
import sys

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsAuthMethodConfig,
    QgsCoordinateTransformContext,
    QgsDataSourceUri,
    QgsField,
    QgsVectorFileWriter,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QVariant

MASTER_PASSWORD = "master-password-of-a-test-profile"


class JsonAsText(QgsVectorFileWriter.FieldValueConverter):
    """QGIS 3.22 types a property holding arrays it cannot type further as JSON, which its GeoPackage writer
    refuses ("Unsupported type for field"): such fields are written as their JSON text, as a planner would."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def _is_json(self, field) -> bool:
        return field.type() in (QVariant.Map, QVariant.List)

    def fieldDefinition(self, field):
        return QgsField(field.name(), QVariant.String) if self._is_json(field) else QgsField(field)

    def convert(self, index, value):
        if not self._is_json(self.layer.fields().at(index)) or value is None or value == QVariant():
            return value
        return json.dumps(value, ensure_ascii=False)


def main(url: str, username: str, token: str, gpkg: str, profile: str) -> dict:
    application = QgsApplication([], False, profile)
    application.initQgis()
    messages = []
    QgsApplication.messageLog().messageReceived.connect(
        lambda message, tag, level: messages.append(f"{tag}: {message}")
    )
    auth = QgsApplication.authManager()
    if auth.isDisabled():
        return {"error": "QGIS authentication manager disabled: " + auth.disabledMessage()}
    if not auth.setMasterPassword(MASTER_PASSWORD, True):
        return {"error": "could not set the master password"}
    config = QgsAuthMethodConfig("Basic")
    config.setName("khgeo")
    config.setConfig("username", username)
    config.setConfig("password", token)
    if not auth.storeAuthenticationConfig(config):
        return {"error": "could not store the authentication configuration"}

    uri = QgsDataSourceUri()
    uri.setParam("url", url)
    uri.setParam("typename", "zones")
    uri.setAuthConfigId(config.id())
    layer = QgsVectorLayer(uri.uri(False), "zones", "OAPIF")
    result = {
        "qgis": Qgis.QGIS_VERSION,
        "uri": uri.uri(False).replace(config.id(), "<authcfg>"),
        "valid": layer.isValid(),
        "messages": messages,
    }
    if not layer.isValid():
        return result
    result["feature_count"] = layer.featureCount()
    result["codes"] = sorted(str(feature["code"]) for feature in layer.getFeatures())
    result["fields"] = {field.name(): field.typeName() for field in layer.fields()}
    result["numeric_fields"] = [field.name() for field in layer.fields() if field.isNumeric()]
    result["json_fields"] = [
        field.name() for field in layer.fields() if field.type() in (QVariant.Map, QVariant.List)
    ]

    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = "zones"
    converter = JsonAsText(layer)
    options.fieldValueConverter = converter
    error, message, *_ = QgsVectorFileWriter.writeAsVectorFormatV3(
        layer, gpkg, QgsCoordinateTransformContext(), options
    )
    result["gpkg_error"] = [int(error), message]
    saved = QgsVectorLayer(f"{gpkg}|layername=zones", "saved", "ogr")
    result["gpkg_count"] = saved.featureCount() if saved.isValid() else -1
    return result


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:6]), ensure_ascii=False))
    sys.stdout.flush()
