"""XML namespaces of Marketing Cloud's partner SOAP API, in one place (as python-zeep's ``ns`` module)."""

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "http://exacttarget.com/wsdl/partnerAPI"
FUEL = "http://exacttarget.com"
FAULT = "urn:fault.partner.exacttarget.com"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
