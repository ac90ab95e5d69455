// Decrypts a sops file with the independent sops-age package and prints it as JSON.
// usage: node sops-age-decrypt.mjs FILE TYPE   (the age key comes from SOPS_AGE_KEY)
import { readFile } from "node:fs/promises";
import { decryptSops } from "sops-age";

const [file, fileType] = process.argv.slice(2);
const content = await readFile(file, "utf8");
const out = await decryptSops(content, { fileType, secretKey: process.env.SOPS_AGE_KEY });
process.stdout.write(JSON.stringify(out) + "\n");
