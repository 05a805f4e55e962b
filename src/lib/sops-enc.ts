/** A value SOPS encrypted: `ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]` (data, iv, tag, type captured). */
export const ENC = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;
