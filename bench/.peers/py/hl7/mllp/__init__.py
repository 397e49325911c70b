from .exceptions import InvalidBlockError
from .streams import (
    HL7StreamProtocol,
    HL7StreamReader,
    HL7StreamWriter,
    MLLPStreamReader,
    MLLPStreamWriter,
    open_hl7_connection,
    start_hl7_server,
)

__all__ = [
    "open_hl7_connection",
    "start_hl7_server",
    "HL7StreamProtocol",
    "HL7StreamReader",
    "HL7StreamWriter",
    "MLLPStreamReader",
    "MLLPStreamWriter",
    "InvalidBlockError",
]
