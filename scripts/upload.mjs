#!/usr/bin/env node
// Uploads a file to incoming/{model}/ with the Azure Storage SDK, as any storage client would:
//   node scripts/upload.mjs <model> <file.csv> [blob-name]
// The connection string comes from AzureWebJobsStorage (scripts/start.sh prints it).
import { BlobServiceClient } from "@azure/storage-blob";
import { basename } from "node:path";

const [model, file, name] = process.argv.slice(2);
const connection = process.env.AzureWebJobsStorage;
if (!model || !file) {
  console.error("usage: node scripts/upload.mjs <model> <file.csv> [blob-name]");
  process.exit(2);
}
if (!connection) {
  console.error("Set AzureWebJobsStorage to the storage connection string (scripts/start.sh prints Azurite's).");
  process.exit(2);
}

const container = BlobServiceClient.fromConnectionString(connection).getContainerClient("incoming");
await container.createIfNotExists();
const blobName = `${model}/${name ?? basename(file)}`;
await container.getBlockBlobClient(blobName).uploadFile(file);
console.log(`uploaded ${file} -> incoming/${blobName}`);
