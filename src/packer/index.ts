export { createPacker, imageIdOf, artifactOf, manifestEntryOf, type Packer, type PackerOptions, type BuildResult, type ValidateResult, type PackerLineSink } from './packer.js';
export { parseMachineReadableLine, describeLine, BuildOutput, type MachineReadableLine, type PackerArtifact } from './machine-readable.js';
export { inspectJsonTemplate, inspectHclTemplate, type TemplateFacts } from './template.js';
export { diskImageOf, sniffDiskFormat, type DiskImage } from './disk-image.js';
