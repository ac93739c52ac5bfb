/**
 * Developer probe (issue 15; not a test; needs the Debian package `faker`, Python Faker 0.9.3): names, cities,
 * street addresses, whole postal addresses (several lines), postcodes and phone numbers of every Faker locale, put
 * into sentence frames written for this probe (none from the presidio corpus nor from fakerjs-probes.ts), as
 * written, in lower case and in capitals. Prints per kind the recall (every letter and digit of the value inside a
 * finding) and the findings that touch no letter of the value (over-redaction of the frame's own words).
 * The name, city and street-word lexicons come from the same package, so for names and cities the recall is partly
 * circular; layouts, casing and cues are what it tests.
 *   apt-get install -y faker && npx tsx packages/text/test/pyfaker-frames.ts [--misses] [--type=address]
 */
import { execFileSync } from 'node:child_process';
import { runFrameProbe } from './frame-probe.ts';

const PY = `
import json, pkgutil, faker.providers.address as pa, faker.providers.person as pp
from faker import Faker
out = {k: [] for k in ['name', 'first', 'last', 'city', 'street', 'address', 'zip', 'phone']}
def take(k, f):
    try:
        out[k].append(f())
    except Exception:
        pass
for m in sorted(x.name for x in pkgutil.iter_modules(pa.__path__)):
    f = Faker(m); f.seed(2024)
    for _ in range(4):
        take('city', f.city); take('street', f.street_address); take('address', f.address)
        take('zip', f.postcode); take('phone', f.phone_number)
for m in sorted(x.name for x in pkgutil.iter_modules(pp.__path__)):
    f = Faker(m); f.seed(2025)
    for _ in range(4):
        take('name', lambda: f.first_name() + ' ' + f.last_name()); take('first', f.first_name); take('last', f.last_name)
print(json.dumps(out))
`;
const values = JSON.parse(
  // A fixed hash seed: some Faker 0.9.3 providers pick from sets, whose order follows Python's string hashing.
  execFileSync('/usr/bin/python3', ['-c', PY], {
    encoding: 'utf8',
    maxBuffer: 32 << 20,
    env: { ...process.env, PYTHONHASHSEED: '0' },
  }),
) as Record<string, string[]>;

const FRAMES: Record<string, string[]> = {
  name: [
    'Appointment booked for {p} next Tuesday.',
    'The results were sent to {p} by post.',
    '{p} has been my neighbour for years.',
    'Please cc {p} on the reply.',
    'Next of kin: {p}',
    'Interpreter requested by {p}.',
    'We spoke to {p} and her lawyer.',
  ],
  first: ['Thanks again, {p}!', '{p} called twice this morning.', 'Dear {p},\nThe forms are attached.'],
  last: ['Ms. {p} is on leave.', 'The {p} case was closed.', 'Surname: {p}'],
  city: [
    'They relocated to {p} in spring.',
    'Born and raised in {p}, she studied law.',
    'Town: {p}',
    'The conference is held in {p} this year.',
    'Transfer from {p} arrived late.',
  ],
  street: [
    'Deliver to {p} after 5 pm.',
    'The house at {p} was sold.',
    'Street: {p}',
    'He rents a flat on {p}.',
    'Residence: {p}\nPhone on file.',
  ],
  address: ['Mailing address:\n{p}\n\nThank you.', 'Send the invoice to\n{p}', 'Her home address is {p}.'],
  zip: ['Zip: {p}', 'The postal code {p} is wrong.', 'Postcode changed to {p} last month.'],
  phone: ['Reach him on {p} in the evening.', 'Tel: {p}', 'Her cell is {p}.'],
};
runFrameProbe(FRAMES, values, { over: true });
