/* tfile: test helpers for files. */
#ifndef VX_TFILE_H
#define VX_TFILE_H
#include <stddef.h>
#include <stdint.h>

/* Whole file into a malloc'ed buffer (caller frees); NULL on any error. */
uint8_t *tfile_load(const char *path, size_t *len);
#endif
