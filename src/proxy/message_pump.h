// MessagePump: the byte pump of one session, after PgBouncer's sbuf.c. Two directions
// (client -> backend, backend -> client), each a bounded ByteBuffer read from one socket and
// written to the other from the same memory, and a FrameDecoder that turns its bytes into
// message boundaries and presents each message to the session's FrameHandler (one virtual
// call per message, none per byte), which answers forward, hold or close: the session
// decides, the pump only moves what was decided.
//
// The pump owns both sockets and their readiness (edge-triggered: a flag stays set until a
// read or write finds the socket drained or full). It never allocates on the forwarding path
// and makes one read or write call per step; the session sequences the steps of a round
// (Session::PumpOnce) because between them it applies protocol state the pump does not know.
// Loop-thread only.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/byte_buffer.h"
#include "proxy/frame_decoder.h"
#include "proxy/transport.h"

namespace pgshift::proxy {

class MessagePump {
 public:
  MessagePump(int client_fd, size_t buffer_bytes);
  MessagePump(const MessagePump&) = delete;
  MessagePump& operator=(const MessagePump&) = delete;

  Transport& client() { return client_; }
  Transport& backend() { return backend_; }
  const Transport& backend() const { return backend_; }

  // Socket readiness from epoll (EPOLLIN/HUP/ERR/RDHUP: readable; EPOLLOUT: writable). A TLS
  // socket counts as both: its reads may need writes and back.
  void OnClientEvent(uint32_t events);
  void OnBackendEvent(uint32_t events);
  // Marks the client readable, e.g. after a TLS handshake whose data may be buffered in OpenSSL.
  void ClientMayHaveInput() { up_.source_readable = true; }
  void ClientMayTakeOutput() { down_.sink_writable = true; }

  // The backend connection: a new one is watched by the caller and assumed ready both ways
  // (what is buffered in OpenSSL raises no event); Detach hands the open one over (a switch
  // retires it) and leaves the pump without a backend.
  void AttachBackend(Transport backend);
  Transport DetachBackend();

  // One read from a socket into its direction's buffer, when the socket may have input and
  // the buffer has room: > 0 bytes read, 0 nothing to read now, or Transport::kClosed.
  bool client_readable() const { return up_.source_readable; }
  bool backend_readable() const { return down_.source_readable; }
  ssize_t ReadClient() { return Read(client_, up_); }
  ssize_t ReadBackend() { return Read(backend_, down_); }

  // The client's raw input before the message stream starts (the startup packet, which has
  // no type byte, is the session's to parse), and dropping a parsed packet from it.
  std::string_view startup_input() const { return {up_.buffer.data(), up_.buffer.size()}; }
  void ConsumeStartupInput(size_t n) { up_.buffer.Consume(n); }

  // Presents the buffered, undecided messages of a direction to `handler`.
  FrameDecoder::Outcome ScanFromClient(FrameHandler& handler) {
    return up_.decoder.Scan(up_.buffer, handler);
  }
  FrameDecoder::Outcome ScanFromBackend(FrameHandler& handler) {
    return down_.decoder.Scan(down_.buffer, handler);
  }
  const char* client_error() const { return up_.decoder.error(); }
  // Bytes decided and not yet written toward the backend / the client.
  size_t to_backend_pending() const { return up_.decoder.forwardable(); }
  size_t to_client_pending() const { return down_.decoder.forwardable(); }
  bool backend_writable() const { return up_.sink_writable; }
  bool client_writable() const { return down_.sink_writable; }
  // The backend's stream is between messages (a composed message may go to the client).
  bool backend_at_boundary() const { return down_.decoder.AtBoundary(); }
  // Every byte read from the backend is part of a whole message already decided: none of its
  // stream would be lost with the buffer (the backend may then serve another session).
  bool backend_input_decided() const {
    return down_.decoder.AtBoundary() && down_.buffer.size() == down_.decoder.forwardable();
  }
  // The client's stream toward the backend is between messages, everything decided sent.
  bool to_backend_at_boundary() const {
    return up_.decoder.AtBoundary() && up_.decoder.forwardable() == 0;
  }

  // Writes a direction's decided bytes once, or with `batched` (io_uring sends) asks to be
  // queued: kQueue the first time until the send is done (TakeSend / SendDone).
  enum class Send { kNone, kSent, kQueue, kPeerLost };
  Send SendToBackend(bool batched) { return Write(backend_, up_, batched); }
  Send SendToClient(bool batched) { return Write(client_, down_, batched); }
  // A queued send, taken when the worker submits it (the buffer may have moved since it was
  // queued): false, and no longer queued, when there is nothing to send or no plain socket
  // to send on. `more_after`: the source has input the buffer could not take.
  bool TakeSend(bool to_backend, int& fd, const char*& data, size_t& len, bool& more_after);
  // A queued send completed: `result` bytes sent or -errno. kPeerLost when the peer is gone.
  Send SendDone(bool to_backend, int result);

  // Appends whole messages the proxy composed to the client's stream; only between whole
  // backend messages with everything before them decided, else false (and nothing added).
  bool ComposeToClient(std::string_view bytes);
  // Forgets backend bytes not yet decided (a message the session chose not to forward).
  void DropUndecidedFromBackend() { down_.buffer.Truncate(down_.decoder.forwardable()); }

 private:
  // One direction: bytes read from its source socket, written to its sink socket.
  struct Flow {
    Flow(FrameDecoder::Side side, size_t capacity) : buffer(capacity), decoder(side) {}
    ByteBuffer buffer;
    FrameDecoder decoder;
    bool source_readable = false;
    bool sink_writable = false;
    bool send_queued = false;  // batched: one send at a time per direction
  };

  ssize_t Read(Transport& source, Flow& flow);
  Send Write(Transport& sink, Flow& flow, bool batched);
  void Sent(Flow& flow, size_t n) {
    flow.buffer.Consume(n);
    flow.decoder.Forwarded(n);
  }

  Transport client_, backend_;
  Flow up_;    // client -> backend
  Flow down_;  // backend -> client
};

}  // namespace pgshift::proxy
