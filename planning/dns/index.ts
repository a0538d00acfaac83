/**
 * The cluster's DNS, planned purely: the zone every node serves (./zone.ts), its validation
 * (./validate.ts) and each node's knot.conf (./knot.ts). No Pulumi, no I/O. See docs/dns.md.
 */
export { DEFAULT_TTL, dkimRecord, dkimSelector, nextSerial, renderZone, txtStrings, zoneProblems, type DmarcPolicy, type RenderedZone, type ZoneInput, type ZoneNode } from "./zone";
export { DMARC_ADDRESS, DNS_LABEL, domainProblems, ipFamily, isBase64, MAX_NAME, MAX_TTL, nodeNameProblem, SERVICE_NAMES, ttlProblems, ZoneError } from "./validate";
export { KNOT_CONF, KNOT_STOP, KNOT_STORAGE, knotProblems, knotReload, renderKnotConf, zoneFilePath, type KnotInput } from "./knot";
export { dnsProbeArgv, dnsQueries, judgeDnsProbe, parseDnsProbe, type DnsAnswer, type DnsFinding, type DnsQuery, type ProbeResult } from "./check";
