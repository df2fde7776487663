/* png_speed: a preload library for the gnuplot processes varprop starts (presentation
 * layer; built as $(BUILD)/libvarprop-png.so, never linked into varprop itself).
 *
 * gnuplot's pngcairo terminal writes each chart through cairo, which creates libpng's
 * writer with its defaults: zlib level 6 and the adaptive filter search (libpng tries
 * all five row filters on every row and keeps the cheapest by a sum of absolute
 * differences). For a 1200x800 chart that is ~20 ms, 37% of all the CPU that drawing
 * the reference sweep's 11 charts takes (perf, docs/charts.md "Speed"); gnuplot and
 * cairo have no setting for it. Interposing png_create_write_struct (the symbol cairo
 * calls through the PLT, found first in an LD_PRELOAD library) lets us create the
 * writer as libpng would and then set zlib level 3 and the filter "none" on it before
 * cairo writes a byte: the same pixels, a valid PNG, ~6% larger files, and 37% less
 * CPU for the charts (585 -> 370 ms for the reference sweep, measured with
 * `perf stat -r 5`). The settings are libpng API calls (png_set_compression_level,
 * png_set_filter), looked up at run time so this library needs no libpng headers and
 * does nothing in a process without libpng. varprop sets LD_PRELOAD for gnuplot only
 * (present/plot.c, $VARPROP_GNUPLOT_PRELOAD). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <stddef.h>

typedef struct png_struct_def png_struct;
typedef void (*png_error_fn)(png_struct *, const char *);

#define PNG_FILTER_NONE 0x08 /* png.h: PNG_FILTER_NONE; method 0 = PNG_FILTER_TYPE_BASE */
#define ZLIB_LEVEL 3

png_struct *png_create_write_struct(const char *user_png_ver, void *error_ptr, png_error_fn error_fn,
                                    png_error_fn warn_fn);

png_struct *png_create_write_struct(const char *user_png_ver, void *error_ptr, png_error_fn error_fn,
                                    png_error_fn warn_fn)
{
    typedef png_struct *(*create_fn)(const char *, void *, png_error_fn, png_error_fn);
    typedef void (*level_fn)(png_struct *, int);
    typedef void (*filter_fn)(png_struct *, int, int);
    create_fn create;
    level_fn level;
    filter_fn filter;
    /* POSIX: dlsym's void * converts to a function pointer (the cast below is how
     * dlsym(3) shows it) */
    *(void **)&create = dlsym(RTLD_NEXT, "png_create_write_struct");
    if (!create) return NULL; /* no libpng behind us: what libpng does on failure */
    png_struct *png = create(user_png_ver, error_ptr, error_fn, warn_fn);
    *(void **)&level = dlsym(RTLD_NEXT, "png_set_compression_level");
    *(void **)&filter = dlsym(RTLD_NEXT, "png_set_filter");
    if (png && level) level(png, ZLIB_LEVEL);
    if (png && filter) filter(png, 0, PNG_FILTER_NONE);
    return png;
}
