package xrayhttp

import (
	"io"
	"net/http"
)

// wrap returns a recording ResponseWriter for w with exactly w's optional
// interfaces (http.Flusher, http.Hijacker, io.ReaderFrom, http.Pusher), so
// streaming, websockets and sendfile work as before, and the recorder
// inside it. Each combination is one allocation.
func wrap(w http.ResponseWriter) (http.ResponseWriter, *responseWriter) {
	_, hasF := w.(http.Flusher)
	_, hasH := w.(http.Hijacker)
	_, hasR := w.(io.ReaderFrom)
	_, hasP := w.(http.Pusher)
	switch {
	case hasF && hasH && hasR && hasP:
		v := &struct {
			responseWriter
			flusher
			hijacker
			readerFrom
			pusher
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.flusher = flusher{&v.responseWriter}
		v.hijacker = hijacker{&v.responseWriter}
		v.readerFrom = readerFrom{&v.responseWriter}
		v.pusher = pusher{&v.responseWriter}
		return v, &v.responseWriter
	case !hasF && hasH && hasR && hasP:
		v := &struct {
			responseWriter
			hijacker
			readerFrom
			pusher
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.hijacker = hijacker{&v.responseWriter}
		v.readerFrom = readerFrom{&v.responseWriter}
		v.pusher = pusher{&v.responseWriter}
		return v, &v.responseWriter
	case hasF && !hasH && hasR && hasP:
		v := &struct {
			responseWriter
			flusher
			readerFrom
			pusher
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.flusher = flusher{&v.responseWriter}
		v.readerFrom = readerFrom{&v.responseWriter}
		v.pusher = pusher{&v.responseWriter}
		return v, &v.responseWriter
	case !hasF && !hasH && hasR && hasP:
		v := &struct {
			responseWriter
			readerFrom
			pusher
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.readerFrom = readerFrom{&v.responseWriter}
		v.pusher = pusher{&v.responseWriter}
		return v, &v.responseWriter
	case hasF && hasH && !hasR && hasP:
		v := &struct {
			responseWriter
			flusher
			hijacker
			pusher
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.flusher = flusher{&v.responseWriter}
		v.hijacker = hijacker{&v.responseWriter}
		v.pusher = pusher{&v.responseWriter}
		return v, &v.responseWriter
	case !hasF && hasH && !hasR && hasP:
		v := &struct {
			responseWriter
			hijacker
			pusher
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.hijacker = hijacker{&v.responseWriter}
		v.pusher = pusher{&v.responseWriter}
		return v, &v.responseWriter
	case hasF && !hasH && !hasR && hasP:
		v := &struct {
			responseWriter
			flusher
			pusher
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.flusher = flusher{&v.responseWriter}
		v.pusher = pusher{&v.responseWriter}
		return v, &v.responseWriter
	case !hasF && !hasH && !hasR && hasP:
		v := &struct {
			responseWriter
			pusher
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.pusher = pusher{&v.responseWriter}
		return v, &v.responseWriter
	case hasF && hasH && hasR && !hasP:
		v := &struct {
			responseWriter
			flusher
			hijacker
			readerFrom
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.flusher = flusher{&v.responseWriter}
		v.hijacker = hijacker{&v.responseWriter}
		v.readerFrom = readerFrom{&v.responseWriter}
		return v, &v.responseWriter
	case !hasF && hasH && hasR && !hasP:
		v := &struct {
			responseWriter
			hijacker
			readerFrom
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.hijacker = hijacker{&v.responseWriter}
		v.readerFrom = readerFrom{&v.responseWriter}
		return v, &v.responseWriter
	case hasF && !hasH && hasR && !hasP:
		v := &struct {
			responseWriter
			flusher
			readerFrom
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.flusher = flusher{&v.responseWriter}
		v.readerFrom = readerFrom{&v.responseWriter}
		return v, &v.responseWriter
	case !hasF && !hasH && hasR && !hasP:
		v := &struct {
			responseWriter
			readerFrom
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.readerFrom = readerFrom{&v.responseWriter}
		return v, &v.responseWriter
	case hasF && hasH && !hasR && !hasP:
		v := &struct {
			responseWriter
			flusher
			hijacker
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.flusher = flusher{&v.responseWriter}
		v.hijacker = hijacker{&v.responseWriter}
		return v, &v.responseWriter
	case !hasF && hasH && !hasR && !hasP:
		v := &struct {
			responseWriter
			hijacker
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.hijacker = hijacker{&v.responseWriter}
		return v, &v.responseWriter
	case hasF && !hasH && !hasR && !hasP:
		v := &struct {
			responseWriter
			flusher
		}{responseWriter: responseWriter{ResponseWriter: w}}
		v.flusher = flusher{&v.responseWriter}
		return v, &v.responseWriter
	}
	rw := &responseWriter{ResponseWriter: w}
	return rw, rw
}
