/*
 * mandelbrot: renders the Mandelbrot set as a PNG image.
 *
 *   GET /mandelbrot?cx=-0.5&cy=0&zoom=1&width=400&height=300&max_iter=1000
 *
 * (cx, cy) is the centre of the view; at zoom 1 the view is 3.5 units wide.
 * Points inside the set are black, the outside fades from white to blue with
 * the number of iterations it took to escape. A parameter that is missing or
 * not a number takes its default, as in the original Go instrument.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/request.h"
#include "png.h"

/* Bounds that keep one request within a few seconds and ~100 MB. They are
 * macros so that the messages below can spell them without printf (which
 * would double the module's size). */
#define MAX_SIDE 4096
#define MAX_ITER 100000
#define STR(x) #x
#define XSTR(x) STR(x)

static double param_double(const struct request *req, const char *key, double def) {
    const char *s = request_param(req, key);
    char *end;
    if (!s || !*s) return def;
    double v = strtod(s, &end);
    return *end || !isfinite(v) ? def : v;
}

static long param_long(const struct request *req, const char *key, long def) {
    const char *s = request_param(req, key);
    char *end;
    if (!s || !*s) return def;
    errno = 0;
    long v = strtol(s, &end, 10);
    return *end || errno ? def : v;
}

int main(void) {
    struct request req;
    if (request_read(&req)) return 1;

    double cx = param_double(&req, "cx", -0.5);
    double cy = param_double(&req, "cy", 0.0);
    double zoom = param_double(&req, "zoom", 1.0);
    long width = param_long(&req, "width", 800);
    long height = param_long(&req, "height", 600);
    long max_iter = param_long(&req, "max_iter", 1000);

    if (width < 1 || width > MAX_SIDE || height < 1 || height > MAX_SIDE) {
        fputs("Error: width and height must be between 1 and " XSTR(MAX_SIDE) "\n", stdout);
        return 0;
    }
    if (max_iter < 1 || max_iter > MAX_ITER) {
        fputs("Error: max_iter must be between 1 and " XSTR(MAX_ITER) "\n", stdout);
        return 0;
    }
    if (zoom <= 0) {
        fputs("Error: zoom must be greater than 0\n", stdout);
        return 0;
    }

    uint8_t *pixels = malloc((size_t)width * (size_t)height * 3);
    if (!pixels) {
        fputs("mandelbrot: out of memory\n", stderr);
        return 1;
    }
    /* The view is 3.5/zoom wide, its height follows the image's aspect
     * ratio. The first and last pixel of a row or column sit on the view's
     * edges (a single pixel sits on the centre). The expressions are those of
     * the Go instrument, so both draw the very same pixels. */
    double aspect = (double)width / (double)height;
    double xmin = cx - (3.5 / zoom) / 2, xmax = cx + (3.5 / zoom) / 2;
    double ymin = cy - (3.5 / zoom) / (2 * aspect), ymax = cy + (3.5 / zoom) / (2 * aspect);

    uint8_t *px = pixels;
    for (long py = 0; py < height; py++) {
        double y = height > 1 ? ymin + (ymax - ymin) * (double)py / (double)(height - 1) : cy;
        for (long pxi = 0; pxi < width; pxi++) {
            double x = width > 1 ? xmin + (xmax - xmin) * (double)pxi / (double)(width - 1) : cx;
            double zx = 0, zy = 0, zx2 = 0, zy2 = 0;
            long iter = 0;
            for (; iter < max_iter && zx2 + zy2 <= 4; iter++) {
                zy = 2 * zx * zy + y;
                zx = zx2 - zy2 + x;
                zx2 = zx * zx;
                zy2 = zy * zy;
            }
            if (iter == max_iter) {
                px[0] = px[1] = px[2] = 0;
            } else {
                /* The square root spreads the many fast escapes over more shades. */
                uint8_t t = (uint8_t)(255 - (int)(255 * sqrt((double)iter / (double)max_iter)));
                px[0] = px[1] = t;
                px[2] = 255;
            }
            px += 3;
        }
    }

    size_t len;
    uint8_t *png = png_encode_rgb(pixels, (uint32_t)width, (uint32_t)height, &len);
    if (!png) {
        fputs("mandelbrot: out of memory\n", stderr);
        return 1;
    }
    fwrite(png, 1, len, stdout);
    return 0;
}
