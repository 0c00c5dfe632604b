// mandelbrot-go: a Go build of examples/instruments/mandelbrot (C), for the
// benchmarks. Same parameters, same pixels, same PNG bytes:
//
//	GET /mandelbrot?cx=-0.5&cy=0&zoom=1&width=400&height=300&max_iter=1000
//
// (cx, cy) is the centre of the view; at zoom 1 the view is 3.5 units wide.
// Points inside the set are black, the outside fades from white to blue with
// the number of iterations it took to escape. A parameter that is missing or
// not a number takes its default.
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
)

// Bounds that keep one request within a few seconds and ~100 MB.
const (
	maxSide = 4096
	maxIter = 100000
)

func main() {
	input, _ := io.ReadAll(os.Stdin) // as fread does, a read error ends the input
	req, ok := parseRequest(input)
	if !ok {
		fmt.Fprint(os.Stderr, "the request on stdin is not a JSON object\n")
		os.Exit(1)
	}

	cx := paramDouble(req, "cx", -0.5)
	cy := paramDouble(req, "cy", 0.0)
	zoom := paramDouble(req, "zoom", 1.0)
	width := paramLong(req, "width", 800)
	height := paramLong(req, "height", 600)
	iterations := paramLong(req, "max_iter", 1000)

	out := bufio.NewWriterSize(os.Stdout, 65536)
	defer out.Flush()
	if width < 1 || width > maxSide || height < 1 || height > maxSide {
		fmt.Fprintf(out, "Error: width and height must be between 1 and %d\n", maxSide)
		return
	}
	if iterations < 1 || iterations > maxIter {
		fmt.Fprintf(out, "Error: max_iter must be between 1 and %d\n", maxIter)
		return
	}
	if zoom <= 0 {
		fmt.Fprint(out, "Error: zoom must be greater than 0\n")
		return
	}

	out.Write(encodePNG(render(cx, cy, zoom, width, height, iterations), width, height))
}

// render draws width x height RGB pixels. The view is 3.5/zoom wide, its
// height follows the image's aspect ratio; the first and last pixel of a row
// or column sit on the view's edges (a single pixel sits on the centre). Every
// expression is evaluated in the C instrument's order, each operation rounded
// on its own (the float64 conversions forbid fused multiply-adds), so both
// draw the very same pixels.
func render(cx, cy, zoom float64, width, height, iterations int) []byte {
	pixels := make([]byte, width*height*3)
	aspect := float64(width) / float64(height)
	half := float64(3.5/zoom) / 2
	xmin, xmax := cx-half, cx+half
	halfY := float64(3.5/zoom) / float64(2*aspect)
	ymin, ymax := cy-halfY, cy+halfY

	px := pixels
	for py := 0; py < height; py++ {
		y := cy
		if height > 1 {
			y = ymin + float64(float64(ymax-ymin)*float64(py))/float64(height-1)
		}
		for pxi := 0; pxi < width; pxi++ {
			x := cx
			if width > 1 {
				x = xmin + float64(float64(xmax-xmin)*float64(pxi))/float64(width-1)
			}
			var zx, zy, zx2, zy2 float64
			iter := 0
			for ; iter < iterations && float64(zx2+zy2) <= 4; iter++ {
				zy = float64(float64(2*zx)*zy) + y
				zx = float64(zx2-zy2) + x
				zx2 = float64(zx * zx)
				zy2 = float64(zy * zy)
			}
			if iter == iterations {
				px[0], px[1], px[2] = 0, 0, 0
			} else {
				// The square root spreads the many fast escapes over more shades.
				t := byte(255 - int(float64(255*math.Sqrt(float64(iter)/float64(iterations)))))
				px[0], px[1], px[2] = t, t, 255
			}
			px = px[3:]
		}
	}
	return pixels
}
