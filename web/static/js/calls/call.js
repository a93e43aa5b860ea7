// One participant's side of a call: one RTCPeerConnection, to the server, and the signalling
// WebSocket. Shared by the parent page, the child's centre device and the supervisor console.
//
// The media layout is the server's (service/calls/media.py): audio sendrecv, video sendrecv,
// audio recvonly, video recvonly; VP8 and Opus only, because the server forwards media without
// re-encoding it. No ICE trickle: the offer is sent once gathering is complete, and the server's
// answer carries its own candidates only. The server tells us whose media arrives on which
// m-line (`sources`: mid -> "parent" | "child" | "supervisor" | "interpreter").

import { t } from "../i18n.js";

const GATHERING_TIMEOUT_MS = 5000;
// The server counts the supervisor as gone (and pauses the call for the child) when no message
// arrives for 2 s (service/calls/registry.py SUPERVISOR_SILENCE): every page beats every second.
const HEARTBEAT_MS = 1000;
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 8000];
// Close codes after which reconnecting is pointless (service/calls/signalling.py, registry.py).
const FINAL_CLOSE_CODES = new Set([4400, 4403, 4409, 4410, 4429]);

function onlyCodecs(transceiver, kind, mimeTypes) {
  if (typeof transceiver.setCodecPreferences !== "function") return;
  const capabilities = RTCRtpReceiver.getCapabilities(kind);
  if (!capabilities) return;
  const codecs = capabilities.codecs.filter((c) => mimeTypes.includes(c.mimeType.toLowerCase()));
  if (codecs.length) transceiver.setCodecPreferences(codecs);
}

function gatheringComplete(pc) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    const timer = setTimeout(resolve, GATHERING_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

export function readConfig(root) {
  let iceServers = [];
  try {
    const parsed = JSON.parse(root.dataset.iceServers || "[]");
    if (Array.isArray(parsed)) iceServers = parsed;
  } catch (_) {
    iceServers = [];
  }
  return {
    role: root.dataset.role,
    signalPath: root.dataset.signal,
    // Never unset: without an explicit list a browser may use a default STUN server.
    iceServers,
  };
}

export async function openCameraAndMicrophone() {
  return navigator.mediaDevices.getUserMedia({
    audio: true,
    video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15 } },
  });
}

// Events dispatched: "message" (detail: server message), "remote" (detail: {role, stream}),
// "connection" (detail: pc.connectionState), "closed" (detail: {code, reason, final}).
export class CallClient extends EventTarget {
  constructor(config, localStream) {
    super();
    this.config = config;
    this.localStream = localStream;
    this.ws = null;
    this.pc = null;
    this.sources = {};
    this.remoteStreams = {};
    this.ended = false;
    this.attempt = 0;
    this.beat = null;
  }

  start() {
    this.connectSocket();
  }

  connectSocket() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${this.config.signalPath}`);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.attempt = 0;
      clearInterval(this.beat);
      this.beat = setInterval(() => {
        if (this.ws === ws) this.send({ type: "heartbeat" });
      }, HEARTBEAT_MS);
      this.negotiate().catch((error) => this.fail(error));
    });
    ws.addEventListener("message", (event) => this.onMessage(event));
    ws.addEventListener("close", (event) => this.onClose(event));
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  newPeerConnection() {
    if (this.pc) this.pc.close();
    const pc = new RTCPeerConnection({ iceServers: this.config.iceServers, bundlePolicy: "max-bundle" });
    this.pc = pc;
    this.sources = {};
    const audio = this.localStream.getAudioTracks()[0];
    const video = this.localStream.getVideoTracks()[0];
    const transceivers = [
      [pc.addTransceiver(audio || "audio", { direction: audio ? "sendrecv" : "recvonly", streams: [this.localStream] }), "audio"],
      [pc.addTransceiver(video || "video", { direction: video ? "sendrecv" : "recvonly", streams: [this.localStream] }), "video"],
      [pc.addTransceiver("audio", { direction: "recvonly" }), "audio"],
      [pc.addTransceiver("video", { direction: "recvonly" }), "video"],
      // The third source: an interpreter, when one is booked (unused otherwise).
      [pc.addTransceiver("audio", { direction: "recvonly" }), "audio"],
      [pc.addTransceiver("video", { direction: "recvonly" }), "video"],
    ];
    for (const [transceiver, kind] of transceivers) {
      onlyCodecs(transceiver, kind, kind === "video" ? ["video/vp8", "video/rtx"] : ["audio/opus"]);
    }
    pc.addEventListener("track", (event) => this.onTrack(event));
    pc.addEventListener("connectionstatechange", () => {
      if (this.pc !== pc) return;
      this.dispatchEvent(new CustomEvent("connection", { detail: pc.connectionState }));
      if (pc.connectionState === "failed" && !this.ended) {
        // The server drops a failed connection; offer a new one on the same socket.
        this.negotiate().catch((error) => this.fail(error));
      }
    });
    return pc;
  }

  async negotiate() {
    const pc = this.newPeerConnection();
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc);
    if (this.pc !== pc) return;
    this.send({ type: "offer", sdp: pc.localDescription.sdp });
  }

  onTrack(event) {
    const mid = event.transceiver && event.transceiver.mid;
    const role = this.sources[mid];
    if (!role) return;
    let stream = this.remoteStreams[role];
    if (!stream) {
      stream = new MediaStream();
      this.remoteStreams[role] = stream;
    }
    for (const old of stream.getTracks().filter((t) => t.kind === event.track.kind)) {
      stream.removeTrack(old);
    }
    stream.addTrack(event.track);
    this.dispatchEvent(new CustomEvent("remote", { detail: { role, stream } }));
  }

  async onMessage(event) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (_) {
      return;
    }
    if (message.type === "answer") {
      this.sources = message.sources || {};
      if (this.pc) await this.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
    } else if (message.type === "ended") {
      this.finish();
    } else if (message.type === "reconnect" && !this.ended) {
      // The server saw our media connection die: offer a new one on the same socket.
      this.negotiate().catch((error) => this.fail(error));
    }
    this.dispatchEvent(new CustomEvent("message", { detail: message }));
  }

  onClose(event) {
    if (event.target === this.ws) clearInterval(this.beat);
    const final = this.ended || FINAL_CLOSE_CODES.has(event.code);
    if (event.code === 4410) this.finish();
    this.dispatchEvent(new CustomEvent("closed", { detail: { code: event.code, reason: event.reason, final } }));
    if (final) {
      if (this.pc) this.pc.close();
      return;
    }
    // Dropped: rejoin within the window (the server refuses if the call ended meanwhile).
    const delay = RETRY_DELAYS_MS[Math.min(this.attempt, RETRY_DELAYS_MS.length - 1)];
    this.attempt += 1;
    setTimeout(() => this.connectSocket(), delay);
  }

  finish() {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.beat);
    if (this.pc) this.pc.close();
    for (const track of this.localStream.getTracks()) track.stop();
  }

  fail(error) {
    this.dispatchEvent(new CustomEvent("message", { detail: { type: "error", message: String(error) } }));
  }
}

// Small page helpers shared by the three pages.
export function show(root, screen) {
  root.dataset.state = screen;
  for (const section of root.querySelectorAll("[data-screen]")) {
    section.hidden = section.dataset.screen !== screen;
  }
}

const CONNECTION_WORDS = {
  new: t("Getting ready…"),
  connecting: t("Connecting…"),
  connected: t("Connected"),
  disconnected: t("The connection dropped. Trying again…"),
  failed: t("The connection failed. Trying again…"),
  closed: t("Disconnected"),
};

export function connectionText(state) {
  return CONNECTION_WORDS[state] || state;
}

export function attach(video, stream) {
  if (video.srcObject !== stream) video.srcObject = stream;
  const playing = video.play();
  if (playing && playing.catch) playing.catch(() => {});
}
